package compose

import (
	"os"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/rootfs"
	"github.com/cairnlinux/cairn/internal/rootfs/rootfstest"
)

// seedMinimal gives r the few files System reads: a zone file, the
// hostname and hosts of a fresh Alpine, and sshd's init script.
func seedMinimal(t *testing.T, r rootfs.Root) {
	t.Helper()
	files := map[string]string{
		"usr/share/zoneinfo/Europe/Berlin": fakeZone,
		"etc/hostname":                     "localhost\n",
		"etc/hosts":                        "127.0.0.1\tlocalhost\n",
		"etc/init.d/sshd":                  "#!/sbin/openrc-run\n",
	}
	seed := newRoot(r, seedTime)
	for rel, data := range files {
		if err := seed.writeFile(rel, []byte(data), 0o644, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"", "etc", "etc/init.d", "usr", "usr/share", "usr/share/zoneinfo", "usr/share/zoneinfo/Europe"} {
		if err := seed.in(d, func(d rootfs.Dir) error { return d.SetTimes("", seedTime) }); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSystemInMemory composes the example system into a root in memory
// (no disk, no privileges, no Linux): the files are there, root's, 0644,
// dated the build. Where a root on disk can be given the same owners
// (Linux, as root), composing there leaves the same tree.
func TestSystemInMemory(t *testing.T) {
	m := rootfs.NewMemory()
	seedMinimal(t, m)
	if err := composeSystem(newRoot(m, buildTime), exampleSystem()); err != nil {
		t.Fatal(err)
	}
	all := func(rootfs.Stat) bool { return true }
	got := rootfstest.Tree(t, m, "", true, all)
	lines := strings.Split(got, "\n")
	stamp := buildTime.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
	for _, f := range systemFiles {
		want := f + " 100644 0:0 " + stamp + " "
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no line starting %q in:\n%s", want, got)
		}
	}
	if want := "etc/localtime 120777 0:0 " + stamp + " -> zoneinfo/Europe/Berlin"; !strings.Contains(got, want) {
		t.Errorf("the tree lacks %q:\n%s", want, got)
	}

	if os.Geteuid() != 0 {
		return
	}
	dir := t.TempDir()
	disk, ok := rootfstest.OnDisk(t, dir)
	if !ok {
		return
	}
	seedMinimal(t, disk)
	if err := System(dir, exampleSystem(), buildTime); err != nil {
		t.Fatal(err)
	}
	if onDisk := rootfstest.Tree(t, disk, "", true, all); onDisk != got {
		t.Errorf("composing in memory and on disk differ:\nmemory:\n%s\n\ndisk:\n%s", got, onDisk)
	}
}
