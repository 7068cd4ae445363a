// Package install applies a solver changeset to a root directory the way
// apk-tools 2.14 does (src/commit.c, src/database.c), so that the apk
// inside the result finds a consistent database.
//
// A commit runs in two phases. Phase 1 streams every new package into
// temporary names beside the final paths (<dir>/.apk.<hex>, apk's own
// scheme), checking its identity against the index, its signature and its
// datahash, and checking file ownership; any failure removes everything
// phase 1 made and leaves the root as it was. Phase 2 walks the changeset
// in order: scripts, renaming files into place, removing what old versions
// and removed packages owned. Then triggers fire, directory permissions are
// settled and the database files are written atomically.
package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/rootfs"
	"github.com/cairnlinux/cairn/internal/sandbox"
)

// Installer applies changesets to the root directory Root. It implements
// solver.Committer.
type Installer struct {
	Root string
	// FS, when set, is the root to install into instead of Root (a
	// rootfs.Memory in tests); the caller closes it.
	FS rootfs.Root
	// Open returns the .apk file of a package to install. Its contents
	// are verified (signature, datahash, identity against p.Checksum)
	// while they are extracted. Open is called for several packages at
	// once, from different goroutines.
	Open func(ctx context.Context, p *solver.Pkg) (io.ReadCloser, error)
	// Verify holds the trusted keys for the package signatures.
	Verify apkfile.Options
	// NoScripts does not run package scripts and triggers (apk
	// --no-scripts). Scripts never run unless the installer runs as root.
	NoScripts bool
	// NoChown leaves files owned by the installing user; it is implied
	// when the installer does not run as root.
	NoChown bool
	// ForceOverwrite lets a package overwrite files another package owns
	// (apk --force-overwrite).
	ForceOverwrite bool
	// Out receives what apk prints on stdout (change lines, "Executing",
	// the summary); Err receives warnings and errors.
	Out, Err io.Writer
	// Arch, when set, is written to etc/apk/arch.
	Arch string
	// Repositories, when not nil, become etc/apk/repositories.
	Repositories []string
	// KeysDir, when set, is a directory whose keys are copied into
	// etc/apk/keys.
	KeysDir string
	// Files, when set, shares file data with other roots by reflink.
	Files *FileCache
	// RunScript runs a package script or trigger inside the root; nil
	// runs it in cairn's sandbox (sandbox.Run), as every script must run
	// outside tests that compare the sandbox with something else.
	RunScript func(context.Context, sandbox.Command) error
	// Sync flushes the root's file system before the database is
	// written, and the database files after, so that a database on disk
	// never lists files whose data did not reach it. apk-tools 2.14
	// flushes nothing, and neither does the installer without Sync,
	// unless Files is set (the cache takes only data that is on disk).
	// The store flushes a generation as a whole when it seals it.
	Sync bool
	// ScriptsTime, when not 0, is the time of every entry of
	// lib/apk/db/scripts.tar, as SOURCE_DATE_EPOCH is for apk 2.14;
	// otherwise each script has its package's build time (apk 2.14
	// takes the current time, later versions the package's).
	ScriptsTime int64
}

// Report describes a finished commit.
type Report struct {
	// Packages and InstalledSize describe the root afterwards.
	Packages      int
	InstalledSize int64
	// Errors counts what apk counts in its "N errors;" summary: packages
	// left broken by this commit or an earlier one.
	Errors int
	// Problems explains the errors and any other script failures.
	Problems []error
	// ScriptsNotRun lists the packages ("name-version") with scripts or
	// triggers that did not run, because of NoScripts or because the
	// installer does not run as root.
	ScriptsNotRun []string
	// Warnings are the warnings printed to Err.
	Warnings []string
}

// CommitError is returned when a commit completed but left packages
// broken; the root and its database are consistent with each other.
type CommitError struct {
	Report *Report
}

// Unwrap gives errors.As access to the problems (*ScriptError, ...).
func (e *CommitError) Unwrap() []error { return e.Report.Problems }

func (e *CommitError) Error() string {
	msg := fmt.Sprintf("%d error", e.Report.Errors)
	if e.Report.Errors != 1 {
		msg += "s"
	}
	if len(e.Report.Problems) > 0 {
		msg += ": " + errors.Join(e.Report.Problems...).Error()
	}
	return msg
}

// Commit applies the changeset; it is solver.Committer.
func (in *Installer) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	_, err := in.Install(context.Background(), db, cs, world)
	return err
}

// Committer returns a solver.Committer that installs with ctx: cancelling
// it before phase 2 begins rolls everything back.
func (in *Installer) Committer(ctx context.Context) solver.Committer {
	return committer{in: in, ctx: ctx}
}

type committer struct {
	in  *Installer
	ctx context.Context
}

func (c committer) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	_, err := c.in.Install(c.ctx, db, cs, world)
	return err
}

// Install applies the changeset and world to the root and reports what it
// did. An error from phase 1 (a package that does not verify, a file
// conflict, a full disk) leaves the root untouched. A *CommitError means
// the commit completed but left packages broken.
func (in *Installer) Install(ctx context.Context, db *solver.DB, cs *solver.Changeset, world []solver.Dep) (*Report, error) {
	if in.Open == nil {
		return nil, errors.New("install: no package source (Installer.Open)")
	}
	t, err := in.begin()
	if err != nil {
		return nil, err
	}
	defer t.close()
	return t.commit(ctx, db, cs, world)
}

func (in *Installer) out() io.Writer {
	if in.Out == nil {
		return io.Discard
	}
	return in.Out
}

func (in *Installer) errOut() io.Writer {
	if in.Err == nil {
		return io.Discard
	}
	return in.Err
}

// privileged reports whether the installer can chown and chroot.
func privileged() bool { return os.Geteuid() == 0 }
