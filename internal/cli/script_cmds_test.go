package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cairnlinux/cairn/internal/store"
)

// cmdExpand is the script command `expand SRC DST`: DST is SRC with
// $VARIABLES of the script's environment expanded (manifests that name
// the fixtures' repository by its absolute path).
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand SRC DST")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(os.Expand(string(data), ts.Getenv)), 0o644))
}

// cmdInRoot is the script command `inroot ROOT KIND PATH [TARGET]`: the
// built tree ROOT has PATH (relative to it, not following a symlink in
// its last component) as KIND: dir, file, or link pointing to TARGET.
// With !, ROOT has nothing at PATH.
func cmdInRoot(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || (args[1] == "link") != (len(args) == 4) {
		ts.Fatalf("usage: inroot ROOT dir|file|link PATH [TARGET]")
	}
	root, kind, rel := ts.MkAbs(args[0]), args[1], strings.TrimPrefix(args[2], "/")
	parent, err := filepath.EvalSymlinks(filepath.Join(root, filepath.Dir(rel)))
	if err == nil && !strings.HasPrefix(parent+"/", root+"/") {
		ts.Fatalf("%s: its directory leads out of the tree, to %s", rel, parent)
	}
	var fi os.FileInfo
	if err == nil {
		fi, err = os.Lstat(filepath.Join(parent, filepath.Base(rel)))
	}
	if neg {
		if err == nil {
			ts.Fatalf("%s exists in %s (%v)", rel, args[0], fi.Mode())
		}
		return
	}
	if err != nil {
		ts.Fatalf("%s: %v", rel, err)
	}
	switch kind {
	case "dir":
		if !fi.IsDir() {
			ts.Fatalf("%s is not a directory (%v)", rel, fi.Mode())
		}
	case "file":
		if !fi.Mode().IsRegular() {
			ts.Fatalf("%s is not a regular file (%v)", rel, fi.Mode())
		}
	case "link":
		target, err := os.Readlink(filepath.Join(parent, filepath.Base(rel)))
		if err != nil {
			ts.Fatalf("%s is not a symlink: %v", rel, err)
		}
		if target != args[3] {
			ts.Fatalf("%s points to %s, want %s", rel, target, args[3])
		}
	default:
		ts.Fatalf("inroot: kind %q: want dir, file or link", kind)
	}
}

// cmdExits is the script command `exits CODE PROGRAM ARGS...`: exec
// PROGRAM, which must exit with CODE; its output is checked as exec's.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdLockStore is the script command `lockstore DIR`: the test holds the
// write lock of the store in DIR until the script ends.
func cmdLockStore(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: lockstore DIR")
	}
	unlock, err := holdLock(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Defer(unlock)
}

// holdLock takes the writer lock of the store in dir, as another cairn
// would hold it.
func holdLock(dir string) (unlock func(), err error) {
	s, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	return s.Lock(context.Background(), false)
}
