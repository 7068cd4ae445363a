package openrc

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/rootfs"
	"github.com/cairnlinux/cairn/internal/rootfs/rootfstest"
)

// seedRoot gives r what fakeRoot gives a directory: a package's init
// script for sshd, dated long ago.
func seedRoot(t *testing.T, r rootfs.Root) {
	t.Helper()
	old := time.Unix(1000000000, 0)
	if _, err := r.MkdirAll("etc/init.d", 0o755, nil); err != nil {
		t.Fatal(err)
	}
	d, err := r.OpenDir("etc/init.d")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	script := strings.NewReader("#!/sbin/openrc-run\ncommand=/usr/sbin/sshd\n")
	if err := rootfs.WriteFile(d, "sshd", script, rootfs.WriteOptions{Perm: 0o755, Mtime: old}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/init.d", "etc", ""} {
		dir, name := rootfs.Split(p)
		if p == "" {
			dir, name = "", ""
		}
		if err := (&rootDir{fs: r}).setTimes(dir, name, old); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInstallInMemory installs services into a root in memory (no disk,
// no privileges, no Linux needed): the init scripts, conf.d files and
// runlevel links are there with their modes and the given time. Where
// the system has a root on disk, the same install there leaves the same
// tree.
func TestInstallInMemory(t *testing.T) {
	p, err := makePlan(testServices())
	if err != nil {
		t.Fatal(err)
	}
	m := rootfs.NewMemory()
	seedRoot(t, m)
	if err := install(&rootDir{fs: m}, "memory", p, epoch); err != nil {
		t.Fatal(err)
	}
	times := func(rootfs.Stat) bool { return true }
	got := rootfstest.Tree(t, m, "", false, times)

	script, err := InitScript("hello", renderCases[0].def)
	if err != nil {
		t.Fatal(err)
	}
	stamp := epoch.UTC().Format(time.RFC3339Nano)
	for _, want := range []string{
		"etc 40755 " + stamp,
		"etc/init.d 40755 " + stamp,
		`etc/init.d/sshd 100755 2001-09-09T01:46:40Z "#!/sbin/openrc-run\ncommand=/usr/sbin/sshd\n"`,
		"etc/runlevels/default 40755 " + stamp,
		"etc/runlevels/default/sshd 120777 " + stamp + " -> /etc/init.d/sshd",
		"etc/runlevels/boot/hello 120777 " + stamp + " -> /etc/init.d/hello",
		"etc/runlevels/maintenance 40755 " + stamp,
		fmt.Sprintf("etc/init.d/hello 100755 %s %q", stamp, script),
	} {
		if !slices.Contains(strings.Split(got, "\n"), want) {
			t.Errorf("the tree lacks %q:\n%s", want, got)
		}
	}

	dir := t.TempDir()
	disk, ok := rootfstest.OnDisk(t, dir)
	if !ok {
		return
	}
	seedRoot(t, disk)
	if err := Install(dir, testServices(), epoch); err != nil {
		t.Fatal(err)
	}
	if onDisk := rootfstest.Tree(t, disk, "", false, times); onDisk != got {
		t.Errorf("the install in memory and the one on disk differ:\nmemory:\n%s\n\ndisk %s:\n%s", got, filepath.Clean(dir), onDisk)
	}
}
