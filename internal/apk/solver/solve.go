package solver

import (
	"context"
	"math/bits"
	"sort"

	"github.com/cairnlinux/cairn/internal/apk"
)

type solverState struct {
	db                 *DB
	touched            []*Name     // names given their own state
	chunk              []nameState // where the next names' state comes from
	changes            *Changeset
	dirty              dirtyQueue
	unresolved         unresolvedList
	errors             int
	solverFlagsInherit uint16
	pinningInherit     uint32
	defaultRepos       uint32
	orderID            int32
	ignoreConflict     bool
}

var providerNone = Provider{}

func (ss *solverState) pkgRepos(pkg *Pkg) uint32 {
	r := pkg.Repos
	if pkg.Installed != nil {
		r |= ss.db.Tags[pkg.Installed.RepositoryTag].AllowedRepos
	}
	return r
}

func (db *DB) getTag(pinningMask, repos uint32) int {
	for i := range db.Tags {
		if pinningMask&(1<<uint(i)) == 0 {
			continue
		}
		if db.Tags[i].AllowedRepos&repos != 0 {
			return i
		}
	}
	return 0
}

func (ss *solverState) markError(pkg *Pkg) {
	if pkg == nil || pkg.ss.err {
		return
	}
	pkg.ss.err = true
	ss.errors++
}

func (ss *solverState) queueDirty(name *Name) {
	if name.ss.inDirty || name.ss.locked || (name.ss.requirers == 0 && !name.ss.reevaluateIif) {
		return
	}
	ss.dirty.pushBack(name)
}

func (ss *solverState) queueUnresolved(name *Name) {
	if name.ss.locked {
		return
	}
	want := name.ss.requirers > 0 || name.ss.hasIif
	if want && !name.ss.inUnresolved {
		ss.unresolved.pushFront(name)
	} else if !want && name.ss.inUnresolved {
		ss.unresolved.remove(name)
	}
}

func (ss *solverState) reevaluateReverseDeps(name *Name) {
	for _, name0 := range ss.db.rdepends(name) {
		if !name0.ss.seen {
			continue
		}
		name0.ss.reevaluateDeps = true
		ss.queueDirty(name0)
	}
}

func (ss *solverState) reevaluateReverseInstallIf(name *Name) {
	for _, name0 := range ss.db.rinstallIf(name) {
		if !name0.ss.seen || name0.ss.noIif {
			continue
		}
		name0.ss.reevaluateIif = true
		ss.queueDirty(name0)
	}
}

func (ss *solverState) reevaluateReverseInstallIfPkg(pkg *Pkg) {
	ss.reevaluateReverseInstallIf(pkg.Name)
	for _, d := range pkg.Provides {
		ss.reevaluateReverseInstallIf(d.Name)
	}
}

func (ss *solverState) disqualifyPackage(pkg *Pkg) {
	pkg.ss.pkgSelectable = false
	ss.reevaluateReverseDeps(pkg.Name)
	for _, p := range pkg.Provides {
		ss.reevaluateReverseDeps(p.Name)
	}
	ss.reevaluateReverseInstallIfPkg(pkg)
}

func (ss *solverState) dependencySatisfiable(dep *Dep) bool {
	name := dep.Name
	if dep.Conflict && ss.ignoreConflict {
		return true
	}
	if name.ss.locked {
		return dep.isProvidedBy(name.ss.chosen)
	}
	if name.ss.requirers == 0 && dep.isProvidedBy(providerNone) {
		return true
	}
	for _, p := range name.Providers {
		if p.Pkg.ss.pkgSelectable && dep.isProvidedBy(p) {
			return true
		}
	}
	return false
}

// zeroNameState is the state every name shares until the solver writes to
// it: most of a repository's names are never visited, so they get no
// state of their own. Nothing may write to it; Solve checks.
var zeroNameState nameState

// st gives a name its own solver state before a write.
func (ss *solverState) st(n *Name) *nameState {
	if n.ss == &zeroNameState {
		if len(ss.chunk) == 0 {
			ss.chunk = make([]nameState, 512)
		}
		n.ss = &ss.chunk[0]
		ss.chunk = ss.chunk[1:]
		ss.touched = append(ss.touched, n)
	}
	return n.ss
}

func (ss *solverState) discoverName(name *Name) {
	db := ss.db
	if name.ss.seen {
		return
	}
	ss.st(name).seen = true
	name.ss.noIif = true
	for _, p := range name.Providers {
		pkg := p.Pkg
		if !pkg.ss.seen {
			pkg.ss.seen = true
			pkg.ss.pinningAllowed = defaultPinningMask
			pkg.ss.pinningPreferred = defaultPinningMask
			pkg.ss.pkgAvailable = pkg.fromFile ||
				pkg.Repos&db.AvailableRepos&^(1<<RepoCached) != 0
			// A package is in the cache when read from a file, or when it
			// is virtual (installed size zero).
			pkg.ss.pkgSelectable = !pkg.excluded && (pkg.Repos&db.AvailableRepos != 0 ||
				pkg.cachedNonRepository ||
				pkg.InstalledSize == 0 ||
				pkg.Installed != nil)
			// Prune install_if packages that are no longer available;
			// this works only with FlagAvailable in the global flags.
			pkg.ss.iifFailed = len(pkg.InstallIf) == 0 ||
				(ss.solverFlagsInherit&FlagAvailable != 0 && !pkg.ss.pkgAvailable)
			repos := ss.pkgRepos(pkg)
			pkg.ss.tagPreferred = pkg.fromFile ||
				pkg.InstalledSize == 0 ||
				repos&ss.defaultRepos != 0
			pkg.ss.tagOK = pkg.ss.tagPreferred ||
				pkg.cachedNonRepository ||
				pkg.Installed != nil
			for _, dep := range pkg.Depends {
				ss.discoverName(dep.Name)
			}
		}
		name.ss.noIif = name.ss.noIif && pkg.ss.iifFailed
	}
	for _, p := range name.Providers {
		pkg := p.Pkg
		for _, name0 := range ss.db.rinstallIf(pkg.Name) {
			ss.discoverName(name0)
		}
		for _, dep := range pkg.Provides {
			if dep.Name.ss.seen {
				continue
			}
			ss.discoverName(dep.Name)
			for _, name0 := range ss.db.rinstallIf(dep.Name) {
				ss.discoverName(name0)
			}
		}
	}
	ss.orderID++
	name.ss.orderID = ss.orderID
}

func (ss *solverState) nameRequirersChanged(name *Name) {
	ss.queueUnresolved(name)
	ss.reevaluateReverseInstallIf(name)
	ss.queueDirty(name)
}

func (ss *solverState) inheritPinningAndFlags(pkg, ppkg *Pkg) {
	repos := ss.pkgRepos(pkg)
	if ppkg != nil {
		pkg.ss.solverFlags |= ppkg.ss.solverFlagsInheritable
		pkg.ss.solverFlagsInheritable |= ppkg.ss.solverFlagsInheritable
		pkg.ss.pinningAllowed |= ppkg.ss.pinningAllowed
	} else {
		// a world dependency
		pkg.ss.solverFlags |= ss.solverFlagsInherit
		pkg.ss.solverFlagsInheritable |= ss.solverFlagsInherit
		pkg.ss.pinningAllowed |= ss.pinningInherit
		// also prefer main pinnings
		pkg.ss.pinningPreferred = ss.pinningInherit
		pkg.ss.tagPreferred = repos&ss.db.PinningMaskRepos(pkg.ss.pinningPreferred) != 0
	}
	pkg.ss.tagOK = pkg.ss.tagOK || repos&ss.db.PinningMaskRepos(pkg.ss.pinningAllowed) != 0
}

func (ss *solverState) applyConstraint(ppkg *Pkg, dep *Dep) {
	name := dep.Name
	if dep.Conflict && ss.ignoreConflict {
		return
	}
	if !dep.Conflict {
		name.ss.requirers++
		if name.ss.requirers == 1 {
			ss.nameRequirersChanged(name)
		}
	}
	for _, p0 := range name.Providers {
		pkg0 := p0.Pkg
		isProvided := dep.isProvidedBy(p0)
		if !isProvided {
			pkg0.ss.conflicts++
		}
		if pkg0.ss.pkgSelectable && pkg0.ss.conflicts > 0 {
			ss.disqualifyPackage(pkg0)
		}
		if isProvided {
			ss.inheritPinningAndFlags(pkg0, ppkg)
		}
	}
}

func (ss *solverState) excludeNonProviders(name, mustProvide *Name, skipVirtuals bool) {
	if name == mustProvide || ss.ignoreConflict {
		return
	}
next:
	for _, p := range name.Providers {
		if p.Pkg.Name == mustProvide || !p.Pkg.ss.pkgSelectable || (skipVirtuals && p.Version == "") {
			continue
		}
		for _, d := range p.Pkg.Provides {
			if d.Name == mustProvide || (skipVirtuals && d.Version == "") {
				continue next
			}
		}
		ss.disqualifyPackage(p.Pkg)
	}
}

func mergeIndex(index *int32, numOptions int32) bool {
	if *index != numOptions {
		return false
	}
	*index = numOptions + 1
	return true
}

func mergeIndexComplete(index *int32, numOptions int32) bool {
	ret := *index == numOptions
	*index = 0
	return ret
}

// isProviderAutoSelectable: virtual provides without provider_priority are
// not selected automatically.
func isProviderAutoSelectable(p Provider) bool {
	return p.Version != "" || p.Pkg.ProviderPriority != 0 ||
		p.Pkg.Name.autoSelectVirtual || p.Pkg.Name.ss.requirers != 0
}

func (ss *solverState) reconsiderName(name *Name) {
	var firstCandidate *Pkg
	var numOptions, numTagNotOK int32
	hasIif, noIif := false, true

	reevaluateDeps := name.ss.reevaluateDeps
	reevaluateIif := name.ss.reevaluateIif
	name.ss.reevaluateDeps = false
	name.ss.reevaluateIif = false
	name.ss.hasAutoSelectable = false

	// Propagate down by merging common dependencies and applying new
	// constraints.
	for _, p := range name.Providers {
		pkg := p.Pkg
		pkg.ss.dependenciesMerged = false
		if reevaluateDeps {
			if !pkg.ss.pkgSelectable {
				continue
			}
			for i := range pkg.Depends {
				if !ss.dependencySatisfiable(&pkg.Depends[i]) {
					ss.disqualifyPackage(pkg)
					break
				}
			}
		}
		if !pkg.ss.pkgSelectable {
			continue
		}
		if reevaluateIif && !pkg.ss.iifTriggered && !pkg.ss.iifFailed {
			pkg.ss.iifTriggered = true
			pkg.ss.iifFailed = false
			for i := range pkg.InstallIf {
				dep := &pkg.InstallIf[i]
				if !dep.Name.ss.locked {
					pkg.ss.iifTriggered = false
					pkg.ss.iifFailed = false
					break
				}
				if !dep.isProvidedBy(dep.Name.ss.chosen) {
					pkg.ss.iifTriggered = false
					pkg.ss.iifFailed = true
					break
				}
			}
		}
		if reevaluateIif && pkg.ss.iifTriggered {
			for _, dep := range pkg.InstallIf {
				ss.inheritPinningAndFlags(pkg, dep.Name.ss.chosen.Pkg)
			}
		}
		hasIif = hasIif || pkg.ss.iifTriggered
		noIif = noIif && pkg.ss.iifFailed
		name.ss.hasAutoSelectable = name.ss.hasAutoSelectable || pkg.ss.iifTriggered

		if name.ss.requirers == 0 {
			continue
		}

		// merge common dependencies
		pkg.ss.dependenciesMerged = true
		if firstCandidate == nil {
			firstCandidate = pkg
		}
		for _, dep := range pkg.Depends {
			if !dep.Conflict {
				mergeIndex(&dep.Name.ss.mergeDepends, numOptions)
			}
		}
		// The provider's own name may not have been visited yet.
		if pn := ss.st(pkg.Name); mergeIndex(&pn.mergeProvides, numOptions) {
			pn.hasVirtualProvides = pn.hasVirtualProvides || p.Version == ""
		}
		for _, dep := range pkg.Provides {
			if mergeIndex(&dep.Name.ss.mergeProvides, numOptions) {
				dep.Name.ss.hasVirtualProvides = dep.Name.ss.hasVirtualProvides || dep.Version == ""
			}
		}
		if !pkg.ss.tagOK {
			numTagNotOK++
		}
		numOptions++
		if !name.ss.hasAutoSelectable && isProviderAutoSelectable(p) {
			name.ss.hasAutoSelectable = true
		}
	}
	name.ss.hasOptions = numOptions > 1 || numTagNotOK > 0
	name.ss.hasIif = hasIif
	name.ss.noIif = noIif
	ss.queueUnresolved(name)

	if firstCandidate != nil {
		pkg := firstCandidate
		for _, p := range name.Providers {
			p.Pkg.ss.dependenciesUsed = p.Pkg.ss.dependenciesMerged
		}
		// propagate down common dependencies
		if numOptions == 1 {
			for i := range pkg.Depends {
				dep := &pkg.Depends[i]
				if mergeIndexComplete(&dep.Name.ss.mergeDepends, numOptions) {
					ss.applyConstraint(pkg, dep)
				}
			}
		} else {
			for _, dep := range pkg.Depends {
				name0 := dep.Name
				if mergeIndexComplete(&name0.ss.mergeDepends, numOptions) && name0.ss.requirers == 0 {
					// a dependency name common to all candidates
					name0.ss.requirers++
					ss.nameRequirersChanged(name0)
					for _, p := range name0.Providers {
						ss.inheritPinningAndFlags(p.Pkg, pkg)
					}
				}
			}
		}
		// provides transitivity
		if mergeIndexComplete(&pkg.Name.ss.mergeProvides, numOptions) {
			ss.excludeNonProviders(pkg.Name, name, pkg.Name.ss.hasVirtualProvides)
		}
		for _, dep := range pkg.Provides {
			if mergeIndexComplete(&dep.Name.ss.mergeProvides, numOptions) {
				ss.excludeNonProviders(dep.Name, name, dep.Name.ss.hasVirtualProvides)
			}
		}
		pkg.Name.ss.hasVirtualProvides = false
		for _, dep := range pkg.Provides {
			dep.Name.ss.hasVirtualProvides = false
		}
	}

	name.ss.reverseDepsDone = true
	for _, name0 := range ss.db.rdepends(name) {
		if name0.ss.seen && !name0.ss.locked {
			name.ss.reverseDepsDone = false
			break
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareProviders orders two candidates for a name; > 0 prefers pA.
func (ss *solverState) compareProviders(pA, pB Provider) int {
	db := ss.db
	pkgA, pkgB := pA.Pkg, pB.Pkg

	// Prefer existing package
	if pkgA == nil || pkgB == nil {
		return b2i(pkgA != nil) - b2i(pkgB != nil)
	}
	solverFlags := pkgA.ss.solverFlags | pkgB.ss.solverFlags

	// Honor removal preference
	if solverFlags&FlagRemove != 0 {
		if r := int(pkgB.ss.solverFlags&FlagRemove) - int(pkgA.ss.solverFlags&FlagRemove); r != 0 {
			return r
		}
	}

	if solverFlags&FlagLatest != 0 &&
		pkgA.ss.pinningAllowed == defaultPinningMask &&
		pkgB.ss.pinningAllowed == defaultPinningMask {
		// Latest version required: prefer allowed pinning
		if r := b2i(pkgA.ss.tagOK) - b2i(pkgB.ss.tagOK); r != 0 {
			return r
		}
		// Prefer available
		if solverFlags&FlagAvailable != 0 {
			if r := b2i(pkgA.ss.pkgAvailable) - b2i(pkgB.ss.pkgAvailable); r != 0 {
				return r
			}
		} else if solverFlags&FlagReinstall != 0 {
			if r := b2i(pkgA.ss.pkgSelectable) - b2i(pkgB.ss.pkgSelectable); r != 0 {
				return r
			}
		}
	} else {
		// Prefer without errors
		if r := b2i(pkgA.ss.pkgSelectable) - b2i(pkgB.ss.pkgSelectable); r != 0 {
			return r
		}
		// Prefer those that were in last dependency merging group
		if r := b2i(pkgA.ss.dependenciesUsed) - b2i(pkgB.ss.dependenciesUsed); r != 0 {
			return r
		}
		if r := int(pkgB.ss.conflicts - pkgA.ss.conflicts); r != 0 {
			return r
		}
		// Prefer installed on self-upgrade
		if (db.PerformingSelfUpgrade && solverFlags&FlagUpgrade == 0) || solverFlags&FlagInstalled != 0 {
			if r := b2i(pkgA.Installed != nil) - b2i(pkgB.Installed != nil); r != 0 {
				return r
			}
		}
		// Prefer allowed pinning
		if r := b2i(pkgA.ss.tagOK) - b2i(pkgB.ss.tagOK); r != 0 {
			return r
		}
		// Prefer available
		if solverFlags&FlagAvailable != 0 {
			if r := b2i(pkgA.ss.pkgAvailable) - b2i(pkgB.ss.pkgAvailable); r != 0 {
				return r
			}
		}
		// Prefer preferred pinning
		if r := b2i(pkgA.ss.tagPreferred) - b2i(pkgB.ss.tagPreferred); r != 0 {
			return r
		}
		// Prefer installed
		if solverFlags&FlagUpgrade == 0 {
			if r := b2i(pkgA.Installed != nil) - b2i(pkgB.Installed != nil); r != 0 {
				return r
			}
		}
	}

	// Select latest by requested name
	switch compareNullableVersions(pA.Version, pB.Version) {
	case apk.VersionLess:
		return -1
	case apk.VersionGreater:
		return 1
	}
	// Select latest by principal name
	if pkgA.Name == pkgB.Name {
		switch apk.CompareVersions(pkgA.Version, pkgB.Version) {
		case apk.VersionLess:
			return -1
		case apk.VersionGreater:
			return 1
		}
	}
	// Prefer installed (matches here if upgrading)
	if r := b2i(pkgA.Installed != nil) - b2i(pkgB.Installed != nil); r != 0 {
		return r
	}
	// Prefer highest declared provider priority
	if r := int(pkgA.ProviderPriority - pkgB.ProviderPriority); r != 0 {
		return r
	}
	// Prefer without errors (mostly if --latest used, and different provider)
	if r := b2i(pkgA.ss.pkgSelectable) - b2i(pkgB.ss.pkgSelectable); r != 0 {
		return r
	}
	// Prefer lowest available repository
	return ffs(pkgB.Repos) - ffs(pkgA.Repos)
}

// compareNullableVersions compares versions where "" is apk's null
// version, which compares as equal-or-anything to a real one.
func compareNullableVersions(a, b string) int {
	if a == "" || b == "" {
		if a == "" && b == "" {
			return apk.VersionEqual
		}
		return apk.VersionEqual | apk.VersionLess | apk.VersionGreater
	}
	return apk.CompareVersions(a, b)
}

func ffs(x uint32) int {
	if x == 0 {
		return 0
	}
	return bits.TrailingZeros32(x) + 1
}

func (ss *solverState) assignName(name *Name, p Provider) {
	ss.st(name)
	if name.ss.locked {
		// If both are providing this name without version, it's ok
		if p.Version == "" && name.ss.chosen.Version == "" {
			return
		}
		if ss.ignoreConflict {
			return
		}
		// Conflict: providing same name
		ss.markError(p.Pkg)
		ss.markError(name.ss.chosen.Pkg)
		return
	}
	name.ss.locked = true
	name.ss.chosen = p
	ss.unresolved.remove(name)
	ss.dirty.remove(name)

	// disqualify all conflicting packages
	if !ss.ignoreConflict {
		for _, p0 := range name.Providers {
			if p0.Pkg == p.Pkg {
				continue
			}
			if p.Version == "" && p0.Version == "" {
				continue
			}
			ss.disqualifyPackage(p0.Pkg)
		}
	}
	ss.reevaluateReverseDeps(name)
	if p.Pkg != nil {
		ss.reevaluateReverseInstallIfPkg(p.Pkg)
	} else {
		ss.reevaluateReverseInstallIf(name)
	}
}

func (ss *solverState) selectPackage(name *Name) {
	chosen := providerNone
	if name.ss.requirers > 0 || name.ss.hasIif {
		for _, p := range name.Providers {
			// Ensure valid pinning and install-if trigger
			if name.ss.requirers == 0 &&
				(!p.Pkg.ss.iifTriggered || !p.Pkg.ss.tagOK || !p.Pkg.ss.pkgSelectable) {
				continue
			}
			if !isProviderAutoSelectable(p) {
				continue
			}
			if ss.compareProviders(p, chosen) > 0 {
				chosen = p
			}
		}
	}

	pkg := chosen.Pkg
	if pkg != nil {
		if !pkg.ss.pkgSelectable || !pkg.ss.tagOK {
			// Selecting a broken or disallowed package
			ss.markError(pkg)
		}
		ss.assignName(pkg.Name, Provider{Pkg: pkg, Version: pkg.Version})
		for _, d := range pkg.Provides {
			ss.assignName(d.Name, Provider{Pkg: pkg, Version: d.Version})
		}
		for i := range pkg.Depends {
			ss.applyConstraint(pkg, &pkg.Depends[i])
		}
	} else {
		ss.assignName(name, providerNone)
		if name.ss.requirers > 0 {
			ss.errors++
		}
	}
}

func compareNameDequeue(a, b *Name) int {
	if r := b2i(b.ss.hasAutoSelectable) - b2i(a.ss.hasAutoSelectable); r != 0 {
		return r
	}
	if r := b2i(a.solverFlagsSet) - b2i(b.solverFlagsSet); r != 0 {
		return -r
	}
	return int(b.ss.orderID - a.ss.orderID)
}

// attachSolverState gives every package fresh solver state for one solve
// from an arena, and points every name at the shared zero state.
func (db *DB) attachSolverState(withPresets bool) {
	for _, n := range db.nameList {
		n.ss = &zeroNameState
	}
	pkgs := make([]pkgState, len(db.pkgList))
	for i, p := range db.pkgList {
		p.ss = &pkgs[i]
		if withPresets {
			p.ss.solverFlags = p.presetFlags
			p.ss.solverFlagsInheritable = p.presetInheritable
		}
	}
}

// detachSolverState drops the solver state, and the preset flags with it:
// apk clears them after each solve.
func (db *DB) detachSolverState() {
	if zeroNameState != (nameState{}) {
		panic("solver: a name's shared zero state was written")
	}
	for _, n := range db.nameList {
		n.ss = nil
	}
	for _, p := range db.pkgList {
		p.ss = nil
		p.presetFlags, p.presetInheritable = 0, 0
	}
}

// Solve chooses packages for world. It sorts world in place, as apk does,
// and returns the changes and the number of errors; with errors, the
// changeset is what the error report explains.
func (db *DB) Solve(flags uint16, world []Dep) (*Changeset, int) {
	cs, n, _ := db.SolveContext(context.Background(), flags, world)
	return cs, n
}

// pollEvery is how many steps of the solver pass between looks at its
// context: a step takes microseconds.
const pollEvery = 256

// SolveContext is Solve that gives up, with ctx's error, soon after ctx
// is done (a signal during a long solve).
func (db *DB) SolveContext(ctx context.Context, flags uint16, world []Dep) (*Changeset, int, error) {
	steps := 0
	var stop error
	cancelled := func() bool {
		if steps++; steps%pollEvery == 0 {
			stop = ctx.Err()
		}
		return stop != nil
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	sort.SliceStable(world, func(i, j int) bool {
		return apk.CompareNames(world[i].Name.Name, world[j].Name.Name) < 0
	})
	withPresets := true
	for {
		db.attachSolverState(withPresets)
		cs := &Changeset{}
		ss := &solverState{
			db:             db,
			changes:        cs,
			defaultRepos:   db.PinningMaskRepos(defaultPinningMask),
			ignoreConflict: flags&FlagIgnoreConflict != 0,
		}
		ss.solverFlagsInherit = flags
		for i := range world {
			if !world[i].broken {
				ss.discoverName(world[i].Name)
			}
		}
		for i := range world {
			if !world[i].broken {
				ss.pinningInherit = 1 << uint(world[i].Tag)
				ss.applyConstraint(nil, &world[i])
			}
		}
		ss.solverFlagsInherit = 0
		ss.pinningInherit = 0

		for {
			for name := ss.dirty.popFront(); name != nil; name = ss.dirty.popFront() {
				ss.reconsiderName(name)
				if cancelled() {
					db.detachSolverState()
					return nil, 0, stop
				}
			}
			if cancelled() {
				db.detachSolverState()
				return nil, 0, stop
			}
			var name *Name
			for name0 := ss.unresolved.head; name0 != nil; name0 = name0.ss.unresolvedNext {
				if name0.ss.reverseDepsDone && name0.ss.requirers > 0 &&
					name0.ss.hasAutoSelectable && !name0.ss.hasOptions {
					name = name0
					break
				}
				if name == nil || compareNameDequeue(name0, name) < 0 {
					name = name0
				}
			}
			if name == nil {
				break
			}
			ss.selectPackage(name)
		}

		ss.generateChangeset(world)

		if ss.errors > 0 && db.ForceBrokenWorld {
			for i := range world {
				pkg := world[i].Name.ss.chosen.Pkg
				if pkg == nil || pkg.ss.err {
					world[i].broken = true
				}
			}
			// apk wipes all solver state before retrying, the flags
			// set for named packages included.
			db.detachSolverState()
			withPresets = false
			continue
		}
		db.detachSolverState()
		return cs, ss.errors, nil
	}
}
