package solver

// Change is one step of a transaction: an install (Old nil), a removal
// (New nil), or a replacement of Old by New (an upgrade, downgrade,
// reinstall or pinning change when Old == New).
type Change struct {
	Old, New         *Pkg
	OldRepositoryTag int
	NewRepositoryTag int
	Reinstall        bool
}

// Changeset is the ordered list of changes the solver chose; the order is a
// valid order to apply them in (dependencies before dependents).
type Changeset struct {
	Changes    []Change
	NumInstall int
	NumRemove  int
	NumAdjust  int
}

// NumTotalChanges counts the changes that do something.
func (cs *Changeset) NumTotalChanges() int { return cs.NumInstall + cs.NumRemove + cs.NumAdjust }

func (ss *solverState) recordChange(opkg, npkg *Pkg) {
	cs := ss.changes
	c := Change{Old: opkg, New: npkg}
	if opkg != nil {
		c.OldRepositoryTag = opkg.Installed.RepositoryTag
	}
	if npkg != nil {
		c.NewRepositoryTag = ss.db.getTag(npkg.ss.pinningAllowed, ss.pkgRepos(npkg))
		c.Reinstall = npkg.ss.solverFlags&FlagReinstall != 0
	}
	cs.Changes = append(cs.Changes, c)
	switch {
	case npkg == nil:
		cs.NumRemove++
	case opkg == nil:
		cs.NumInstall++
	case npkg != opkg || c.Reinstall || c.NewRepositoryTag != c.OldRepositoryTag:
		cs.NumAdjust++
	}
}

func (ss *solverState) csetTrackDepsAdded(pkg *Pkg) {
	for _, d := range pkg.Depends {
		if d.Conflict || d.Name.ss.installedName == nil {
			continue
		}
		d.Name.ss.installedName.ss.requirers++
	}
}

func (ss *solverState) csetTrackDepsRemoved(pkg *Pkg) {
	for _, d := range pkg.Depends {
		if d.Conflict || d.Name.ss.installedName == nil {
			continue
		}
		d.Name.ss.installedName.ss.requirers--
		if d.Name.ss.installedName.ss.requirers > 0 {
			continue
		}
		if pkg0 := d.Name.ss.installedPkg; pkg0 != nil {
			ss.csetGenNameRemove(pkg0)
		}
	}
}

func (ss *solverState) csetCheckRemovalByDeps(pkg *Pkg) {
	// An orphaned name may have no requirers because an alternative
	// provider now satisfies it; that is handled later as a change, so only
	// remove the package when nothing else was chosen for the name.
	if pkg.Name.ss.requirers == 0 && pkg.Name.ss.chosen.Pkg == nil {
		ss.csetGenNameRemove(pkg)
	}
}

func (ss *solverState) csetCheckInstallByIif(name *Name) {
	pkg := name.ss.chosen.Pkg
	if pkg == nil || !name.ss.seen || name.ss.changesetProcessed {
		return
	}
	for i := range pkg.InstallIf {
		dep0 := &pkg.InstallIf[i]
		name0 := dep0.Name
		if !name0.ss.changesetProcessed {
			return
		}
		if !dep0.isProvidedBy(name0.ss.chosen) {
			return
		}
	}
	ss.csetGenNameChange(name)
}

func (ss *solverState) csetCheckRemovalByIif(name *Name) {
	pkg := name.ss.installedPkg
	if pkg == nil || name.ss.chosen.Pkg != nil {
		return
	}
	if name.ss.changesetProcessed || name.ss.changesetRemoved {
		return
	}
	for _, dep0 := range pkg.InstallIf {
		name0 := dep0.Name
		if name0.ss.changesetRemoved && name0.ss.chosen.Pkg == nil {
			ss.csetCheckRemovalByDeps(pkg)
			return
		}
	}
}

func (ss *solverState) csetCheckByReverseIif(pkg *Pkg, cb func(*Name)) {
	if pkg == nil {
		return
	}
	for _, n := range ss.db.rinstallIf(pkg.Name) {
		cb(n)
	}
	for _, d := range pkg.Provides {
		for _, n := range ss.db.rinstallIf(d.Name) {
			cb(n)
		}
	}
}

func (ss *solverState) csetGenNamePreprocess(name *Name) {
	if name.ss.changesetProcessed {
		return
	}
	name.ss.changesetProcessed = true

	// Remove the package that provided this name before if a package with
	// another name provides it now.
	if name.ss.installedPkg != nil && (name.ss.chosen.Pkg == nil || name.ss.chosen.Pkg.Name != name) {
		ss.csetGenNameRemove(name.ss.installedPkg)
	}
	// Remove any package that provides this name and is due to be deleted.
	for _, p := range name.Providers {
		pkg0 := p.Pkg
		name0 := pkg0.Name
		if name0.ss.installedPkg == pkg0 && name0.ss.chosen.Pkg == nil {
			ss.csetGenNameRemove(pkg0)
		}
	}
}

func (ss *solverState) csetGenNameChange(name *Name) {
	if name.ss.changesetProcessed {
		return
	}
	ss.csetGenNamePreprocess(name)

	pkg := name.ss.chosen.Pkg
	if pkg == nil || pkg.ss.inChangeset {
		return
	}
	pkg.ss.inChangeset = true
	ss.csetGenNamePreprocess(pkg.Name)
	for _, d := range pkg.Provides {
		ss.csetGenNamePreprocess(d.Name)
	}

	opkg := pkg.Name.ss.installedPkg
	ss.csetCheckByReverseIif(opkg, ss.csetCheckRemovalByIif)

	for i := range pkg.Depends {
		ss.csetGenDep(pkg, &pkg.Depends[i])
	}
	ss.recordChange(opkg, pkg)

	ss.csetCheckByReverseIif(pkg, ss.csetCheckInstallByIif)

	ss.csetTrackDepsAdded(pkg)
	if opkg != nil {
		ss.csetTrackDepsRemoved(opkg)
	}
}

func (ss *solverState) csetGenNameRemove(pkg *Pkg) {
	name := pkg.Name
	if pkg.ss.inChangeset || (name.ss.chosen.Pkg != nil && name.ss.chosen.Pkg.Name == name) {
		return
	}
	name.ss.changesetRemoved = true
	pkg.ss.inChangeset = true
	ss.db.foreachReverseDependency(pkg, foreachInstalled|depSatisfies, func(pkg0 *Pkg, _ *Dep, _ *Pkg) {
		ss.csetGenNameRemove(pkg0)
	})
	ss.csetCheckByReverseIif(pkg, ss.csetCheckRemovalByIif)

	ss.recordChange(pkg, nil)
	ss.csetTrackDepsRemoved(pkg)
}

func (ss *solverState) csetGenDep(ppkg *Pkg, dep *Dep) {
	name := dep.Name
	pkg := name.ss.chosen.Pkg
	if dep.Conflict && ss.ignoreConflict {
		return
	}
	if !dep.isProvidedBy(name.ss.chosen) {
		ss.markError(ppkg)
	}
	ss.csetGenNameChange(name)
	if pkg != nil && pkg.ss.err {
		ss.markError(ppkg)
	}
}

func (ss *solverState) generateChangeset(world []Dep) {
	db := ss.db
	for _, n := range ss.touched {
		n.ss.installedPkg = nil
		n.ss.installedName = nil
		n.ss.requirers = 0
	}
	for _, pkg := range db.installed {
		st := ss.st(pkg.Name)
		st.installedPkg = pkg
		st.installedName = pkg.Name
		for _, d := range pkg.Provides {
			if d.Version != "" {
				ss.st(d.Name).installedName = pkg.Name
			}
		}
	}
	for i := range world {
		ss.st(world[i].Name)
	}
	for _, pkg := range db.installed {
		ss.csetTrackDepsAdded(pkg)
	}
	for _, pkg := range db.installed {
		ss.csetCheckRemovalByDeps(pkg)
	}
	for i := range world {
		ss.csetGenDep(nil, &world[i])
	}
	// Everything installed is treated as a change first, and removed from
	// there when appropriate, so that a package now provided under another
	// name is handled right.
	for _, pkg := range db.installed {
		ss.csetGenNameChange(pkg.Name)
	}
}
