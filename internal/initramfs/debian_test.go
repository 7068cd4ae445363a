package initramfs

import (
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

// TestDebianCloudKernel selects the default modules from Debian's cloud
// kernel, whose package has no modules.dep (so dependencies come from the
// modules themselves), and checks the result against what Debian's own
// depmod makes of the same modules.
func TestDebianCloudKernel(t *testing.T) {
	k := debtest.CloudKernel(t)
	m, err := OpenModules(k.Modules)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(k.Modules, "modules.dep")); err == nil {
		t.Fatalf("%s has a modules.dep: this test wants Debian's package as shipped", k.Modules)
	}
	sel, err := m.Select(DefaultModules)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: load %s; built in %s; missing %s", k.Version, strings.Join(sel.Names(), " "), sel.Builtin, sel.Missing)
	checkOrder(t, sel)
	names := sel.Names()
	for _, want := range []string{"virtio_blk", "virtio_pci", "virtio_scsi", "sd_mod", "btrfs", "libcrc32c", "xor", "raid6_pq", "virtio_ring", "virtio"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not selected", want)
		}
	}
	// The order the boot notes found working, as a partial order.
	before := [][2]string{
		{"virtio", "virtio_pci"}, {"virtio_ring", "virtio_blk"}, {"virtio_pci_modern_dev", "virtio_pci"},
		{"xor", "btrfs"}, {"raid6_pq", "btrfs"}, {"zstd_compress", "btrfs"}, {"libcrc32c", "btrfs"},
		{"scsi_mod", "sd_mod"}, {"scsi_mod", "virtio_scsi"},
	}
	pos := map[string]int{}
	for i, n := range names {
		pos[n] = i
	}
	for _, b := range before {
		pa, oka := pos[b[0]]
		pb, okb := pos[b[1]]
		if !oka || !okb || pa > pb {
			t.Errorf("%s should load before %s: %q", b[0], b[1], names)
		}
	}
	if !slices.Contains(sel.Builtin, "nvme") {
		t.Errorf("nvme is built into Debian's cloud kernel, got built in %q", sel.Builtin)
	}

	// Debian's depmod on a copy of the tree: the same selection from its
	// modules.dep, modules.softdep and modules.alias.
	depmod := debtest.Depmod(t)
	base := t.TempDir()
	copyTree(t, k.Modules, filepath.Join(base, "lib", "modules", k.Version))
	if out, err := exec.Command(depmod, "-b", base, k.Version).CombinedOutput(); err != nil {
		t.Fatalf("depmod: %v: %s", err, out)
	}
	withDep, err := OpenModules(filepath.Join(base, "lib", "modules", k.Version))
	if err != nil {
		t.Fatal(err)
	}
	if withDep.dep == nil {
		t.Fatal("depmod wrote no modules.dep")
	}
	sel2, err := withDep.Select(DefaultModules)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sel2.Names(), sel.Names()) {
		t.Errorf("with depmod's indexes: load %q\nfrom the modules: %q", sel2.Names(), sel.Names())
	}
	if !reflect.DeepEqual(sel2.Builtin, sel.Builtin) || !reflect.DeepEqual(sel2.Missing, sel.Missing) {
		t.Errorf("with depmod's indexes: built in %q missing %q; from the modules: %q %q", sel2.Builtin, sel2.Missing, sel.Builtin, sel.Missing)
	}
	for i := range sel.Modules {
		if i < len(sel2.Modules) && !sameSet(sel.Modules[i].Deps, sel2.Modules[i].Deps) {
			t.Errorf("%s: dependencies %q, depmod says %q", sel.Modules[i].Name, sel.Modules[i].Deps, sel2.Modules[i].Deps)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// copyTree copies a directory of regular files, by hard link where it
// can.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if os.Link(p, target) == nil {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}
