//go:build linux

package install

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/rootfs"
	"github.com/cairnlinux/cairn/internal/rootfs/rootfstest"
)

// TestInstallIntoMemory installs the same packages into a rootfs.Memory
// (Installer.FS) and into a directory: the trees, database included, are
// the same, so the installer's logic can be tested in memory.
func TestInstallIntoMemory(t *testing.T) {
	e := newEnv(t)
	e.noScr = true
	e.add(spec("base", "1", dir("etc"), file("etc/base.conf", "base\n"), dir("usr"), dir("usr/bin"),
		apkfile.FileSpec{Path: "usr/bin/tool", Mode: fs.ModeSetuid | 0o755, Data: []byte("#!/bin/sh\n")},
		symlink("usr/bin/alias", "tool"),
		apkfile.FileSpec{Path: "usr/bin/hard", Mode: 0o644, Link: "usr/bin/tool", HardLink: true},
		apkfile.FileSpec{Path: "var", Mode: fs.ModeDir | 0o750}))
	e.add(spec("app", "2", dir("usr"), dir("usr/share"), dir("usr/share/app"), file("usr/share/app/data", "d")))

	m := rootfs.NewMemory()
	m.Umask = 0o022
	var rep *Report
	s := e.session(reportingCommitter{in: e.installer(), rep: &rep})
	s.Committer.(reportingCommitter).in.FS = m
	if err := s.Add([]string{"base", "app"}, solver.AddOptions{}); err != nil {
		t.Fatalf("into memory: %v\n%s%s", err, e.out.String(), e.errOut.String())
	}
	e.mustAdd("base", "app")

	disk, ok := rootfstest.OnDisk(t, e.root)
	if !ok {
		t.Fatal("no root on disk on Linux")
	}
	// The packages' files and devices have the packages' times;
	// directories, symlinks and the database the clock's.
	packaged := func(st rootfs.Stat) bool { return !st.IsDir() && !st.IsSymlink() }
	var got string
	for _, top := range []string{"usr", "var", "etc", "lib"} {
		times := packaged
		if top == "etc" || top == "lib" {
			times = nil
		}
		inMemory := rootfstest.Tree(t, m, top, true, times)
		onDisk := rootfstest.Tree(t, disk, top, true, times)
		if inMemory != onDisk {
			t.Errorf("installing into memory and into a directory differ in /%s:\nmemory:\n%s\n\ndisk:\n%s", top, inMemory, onDisk)
		}
		got += inMemory + "\n"
	}
	for _, line := range []string{"usr/bin/tool 104755 0:0 2023-11-14T22:13:20Z", "usr/bin/alias 120777", "lib/apk/db/installed 100644", "etc/apk/world 100644"} {
		if !strings.Contains(got, line) {
			t.Errorf("the tree in memory lacks %q:\n%s", line, got)
		}
	}
}
