package install

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// commit runs both phases and writes the database.
func (t *txn) commit(ctx context.Context, db *solver.DB, cs *solver.Changeset, world []solver.Dep) (*Report, error) {
	installed, byPkg, err := t.loadInstalled(db)
	if err == nil {
		t.prot, err = t.loadProtected()
	}
	if err != nil {
		t.rollback()
		return nil, fmt.Errorf("install: %w", err)
	}
	t.expected = initialDirACLs(installed)
	pl := newPlanner(installed, t.in.ForceOverwrite, t.warnf)

	// Phase 1: nothing is visible yet, everything can be undone.
	steps, err := t.prepare(ctx, db, cs, pl, byPkg)
	if err != nil {
		t.rollback()
		return nil, err
	}

	// Phase 2: the changes, in changeset order. Once begun it is carried
	// out to the end whatever happens to ctx: stopping half way (killing
	// a package's script) would leave packages broken and the root
	// neither before nor after; the commit takes its usual seconds.
	ctx = context.WithoutCancel(ctx)
	final := append([]*pkgState(nil), installed...)
	for _, st := range steps {
		t.apply(ctx, st)
		final = applyToList(final, st)
	}
	t.unhideAll()
	t.updateDirPermissions(final)
	t.runTriggers(ctx, steps, pl)

	db.World = append([]solver.Dep(nil), world...)
	if err := t.writeDatabase(renderDatabase(final, pl, worldLines(db, world), t.in.ScriptsTime)); err != nil {
		return nil, fmt.Errorf("install: write database: %w", err)
	}
	// writeDatabase synced the file system (it does with a file cache):
	// the cache's new entries are on disk.
	if err := t.files.publish(); err != nil {
		t.warnf("%v", err)
	}
	t.finishReport(final)
	if !db.PerformingSelfUpgrade {
		fmt.Fprintln(t.in.out(), solver.SummaryLine(t.rep.Errors, t.rep.InstalledSize, t.rep.Packages))
	}
	if t.rep.Errors > 0 {
		return t.rep, &CommitError{Report: t.rep}
	}
	return t.rep, nil
}

// applyToList updates the list of installed packages, kept in apk's
// installation order: new packages go to the end, a reinstalled one keeps
// its place.
func applyToList(list []*pkgState, st *step) []*pkgState {
	switch st.kind {
	case stepInstall:
		return append(list, st.new)
	case stepRemove:
		return removePkg(list, st.old)
	case stepUpgrade:
		if st.change.Old == st.change.New {
			for i, ps := range list {
				if ps == st.old {
					list[i] = st.new
				}
			}
			return list
		}
		return append(removePkg(list, st.old), st.new)
	}
	return list
}

func removePkg(list []*pkgState, ps *pkgState) []*pkgState {
	for i, x := range list {
		if x == ps {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

func (t *txn) finishReport(final []*pkgState) {
	t.rep.Packages = len(final)
	for _, ps := range final {
		t.rep.InstalledSize += ps.info.InstalledSize
	}
	if n := len(t.rep.ScriptsNotRun); n > 0 {
		why := "not running as root"
		if t.in.NoScripts {
			why = "--no-scripts"
		}
		t.warnf("%s: the scripts of %d package(s) did not run: %s", why, n, strings.Join(t.rep.ScriptsNotRun, " "))
	}
}
