package install

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// prepare is phase 1: it stages every package the changeset installs,
// several at a time, then plans every step in changeset order. On error
// the caller rolls back.
func (t *txn) prepare(ctx context.Context, db *solver.DB, cs *solver.Changeset, pl *planner, byPkg map[*solver.Pkg]*pkgState) ([]*step, error) {
	steps, err := classify(db, cs, byPkg)
	if err != nil {
		return nil, err
	}
	staged, err := t.extractAll(ctx, steps)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		if st.kind == stepInstall || st.kind == stepUpgrade {
			c := st.change
			st.new = &pkgState{info: metaInfo(c.New), repoTag: st.newTag, isNew: true}
			if sp := staged[st]; sp != nil {
				if err := t.claim(st.new, sp, pl); err != nil {
					return nil, fmt.Errorf("install %s: %w", c.New.NameVersion(), err)
				}
			}
		}
		if st.kind == stepUpgrade || st.kind == stepRemove {
			st.purge, st.rmdirs = pl.release(st.old)
		}
	}
	return steps, nil
}

// classify turns the changes into steps and says what each does.
func classify(db *solver.DB, cs *solver.Changeset, byPkg map[*solver.Pkg]*pkgState) ([]*step, error) {
	total := cs.Counts()
	done := 0
	steps := make([]*step, 0, len(cs.Changes))
	for i := range cs.Changes {
		c := &cs.Changes[i]
		st := &step{change: c, line: db.ChangeLine(c, done, total), newTag: tagName(db, c.NewRepositoryTag)}
		if c.New != c.Old || c.Reinstall || c.NewRepositoryTag != c.OldRepositoryTag {
			done++
		}
		if c.Old != nil {
			if st.old = byPkg[c.Old]; st.old == nil {
				return nil, fmt.Errorf("install: %s is not installed", c.Old.NameVersion())
			}
		}
		switch {
		case c.New == nil:
			st.kind = stepRemove
		case c.Old == nil:
			st.kind = stepInstall
		case c.New != c.Old, c.Reinstall && c.New.Repos&db.AvailableRepos != 0:
			st.kind = stepUpgrade
		default:
			st.kind = stepKeep
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// errAborted cancels the other extractions once one failed.
var errAborted = errors.New("another package failed")

// extractAll extracts the packages the steps install, except meta
// packages, which apk never unpacks: several at a time, since
// decompressing is most of the work. The first failure in changeset order
// is returned.
func (t *txn) extractAll(ctx context.Context, steps []*step) (map[*step]*stagedPkg, error) {
	var jobs []*step
	for _, st := range steps {
		if (st.kind == stepInstall || st.kind == stepUpgrade) && st.change.New.InstalledSize != 0 {
			jobs = append(jobs, st)
		}
	}
	ictx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	staged := make([]*stagedPkg, len(jobs))
	errs := make([]error, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs), maxExtractors) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, copyBufferSize)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ictx.Err() != nil {
					return
				}
				staged[i], errs[i] = t.extract(ictx, jobs[i].change.New, buf)
				if errs[i] != nil {
					abort(errAborted)
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || (ctx.Err() == nil && errors.Is(context.Cause(ictx), errAborted) && errors.Is(err, context.Canceled)) {
			continue
		}
		return nil, fmt.Errorf("install %s: %w", jobs[i].change.New.NameVersion(), err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[*step]*stagedPkg, len(jobs))
	for i, st := range jobs {
		out[st] = staged[i]
	}
	return out, nil
}

// maxExtractors bounds the packages extracted at once.
const maxExtractors = 8

// claim makes a staged package part of the plan: the record header from
// its .PKGINFO, its scripts and triggers, and the ownership of its files.
func (t *txn) claim(ps *pkgState, sp *stagedPkg, pl *planner) error {
	ps.info = recordInfo(sp.pkg, sp.meta.Info)
	ps.staged = sp
	ps.scripts = sp.meta.Scripts
	ps.triggers = sp.meta.Triggers
	ps.replaces = sp.meta.Replaces
	ps.replacesPriority = sp.meta.ReplacesPriority
	if err := pl.claim(ps, sp); err != nil {
		return err
	}
	t.removeSkipped(sp)
	return nil
}

// recordInfo is the header of a package's database record: apk writes the
// index's fields, which the index took from the package's .PKGINFO; the
// .PKGINFO is used here because a repository index may have been loaded
// without descriptions and dependency lists. The index contributes what
// .PKGINFO does not have: the file size, and the architecture it was
// published under (apk index --rewrite-arch).
func recordInfo(p *solver.Pkg, pkginfo *apk.Package) *apk.Package {
	info := *pkginfo
	info.Size = p.Size
	if p.Arch != "" {
		info.Arch = p.Arch
	}
	return &info
}

// metaInfo is the record header of a package that is not unpacked: the
// index's record.
func metaInfo(p *solver.Pkg) *apk.Package {
	info := *p.Info()
	return &info
}
