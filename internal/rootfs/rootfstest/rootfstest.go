// Package rootfstest holds test helpers for code that works on a
// rootfs.Root.
package rootfstest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// Tree describes every entry below dir of r, a line each, sorted: path,
// st_mode in octal, owner when owners is set, modification time when
// showTime says so for the entry, and a symlink's target or a file's
// contents. It reads r through the Root interface alone, so the same
// function lists a root on disk and one in memory, and two trees compare
// as strings.
func Tree(t testing.TB, r rootfs.Root, dir string, owners bool, showTime func(rootfs.Stat) bool) string {
	t.Helper()
	var lines []string
	var walk func(dir string)
	walk = func(dir string) {
		d, err := r.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		names, err := d.Names()
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		for _, name := range names {
			st, err := d.Lstat(name)
			if err != nil {
				t.Fatal(err)
			}
			line := fmt.Sprintf("%s %o", rootfs.Join(dir, name), st.Mode)
			if owners {
				line += fmt.Sprintf(" %d:%d", st.UID, st.GID)
			}
			if showTime != nil && showTime(st) {
				line += " " + st.Mtime.UTC().Format(time.RFC3339Nano)
			}
			switch {
			case st.IsSymlink():
				target, err := d.Readlink(name)
				if err != nil {
					t.Fatal(err)
				}
				line += " -> " + target
			case st.IsRegular():
				f, err := d.Open(name)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				line += fmt.Sprintf(" %q", data)
			}
			lines = append(lines, line)
			if st.IsDir() {
				walk(rootfs.Join(dir, name))
			}
		}
	}
	walk(dir)
	return strings.Join(lines, "\n")
}

// OnDisk opens directory dir as a root on disk for the test, closing it
// when the test ends; ok is false where the system has none (not Linux).
func OnDisk(t testing.TB, dir string) (r rootfs.Root, ok bool) {
	t.Helper()
	r, err := rootfs.OpenRoot(dir)
	if err != nil {
		return nil, false
	}
	t.Cleanup(func() { r.Close() })
	return r, true
}
