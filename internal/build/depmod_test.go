package build

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSortDepmodLists: depmod's lists come out the same whatever order the
// file system listed the modules in; comments stay first; a list a
// package owns, and a link, are left alone.
func TestSortDepmodLists(t *testing.T) {
	write := func(root, rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(root, rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	mods := "lib/modules/6.1.0-virt/"
	var roots []string
	for _, order := range [][2]string{{"kernel/b.ko:\n", "kernel/a.ko: kernel/b.ko\n"}, {"kernel/a.ko: kernel/b.ko\n", "kernel/b.ko:\n"}} {
		root := t.TempDir()
		write(root, mods+"modules.dep", order[0]+order[1])
		write(root, mods+"modules.alias", "# Aliases extracted from modules themselves.\nalias virtio:d00000001v* virtio_net\nalias fs-vfat vfat\n")
		write(root, mods+"modules.symbols", "# owned\nsymbol:z b\nsymbol:a a\n")
		write(root, "lib/apk/db/installed", "P:kernel\nF:lib/modules/6.1.0-virt\nR:modules.symbols\n\n")
		if err := os.Symlink("modules.dep", filepath.Join(root, mods+"modules.devname")); err != nil {
			t.Fatal(err)
		}
		if err := sortDepmodLists(root); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	for _, root := range roots {
		if got := read(root, mods+"modules.dep"); got != "kernel/a.ko: kernel/b.ko\nkernel/b.ko:\n" {
			t.Errorf("modules.dep:\n%s", got)
		}
		if got := read(root, mods+"modules.alias"); got != "# Aliases extracted from modules themselves.\nalias fs-vfat vfat\nalias virtio:d00000001v* virtio_net\n" {
			t.Errorf("modules.alias:\n%s", got)
		}
		if got := read(root, mods+"modules.symbols"); got != "# owned\nsymbol:z b\nsymbol:a a\n" {
			t.Errorf("a package's modules.symbols changed:\n%s", got)
		}
		if fi, err := os.Lstat(filepath.Join(root, mods+"modules.devname")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link modules.devname was replaced (%v)", err)
		}
	}
}
