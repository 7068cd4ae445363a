package initramfs

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs/kmod"
	"github.com/cairnlinux/cairn/internal/initramfs/kmod/kmodtest"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func compressFor(t *testing.T, data []byte, suffix string) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch suffix {
	case "":
		return data
	case ".gz":
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case ".xz":
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case ".zst":
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	}
	return buf.Bytes()
}

// fakeKernel lays out a module directory shaped like a real one: a few
// compressed modules, soft dependencies through aliases, modules built
// into the kernel, and no modules.dep (as Debian's packages ship it).
func fakeKernel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "6.1.0-test")
	mods := map[string][]string{
		"kernel/drivers/virtio/virtio_ring.ko":              {"name=virtio_ring", "depends="},
		"kernel/drivers/virtio/virtio.ko":                   {"name=virtio", "depends=virtio_ring"},
		"kernel/drivers/virtio/virtio_pci_modern_dev.ko.gz": {"name=virtio_pci_modern_dev", "depends=virtio"},
		"kernel/drivers/virtio/virtio_pci.ko.zst":           {"name=virtio_pci", "depends=virtio_pci_modern_dev,virtio,virtio_ring", "alias=pci:v00001AF4d*sv*sd*bc*sc*i*"},
		"kernel/drivers/block/virtio_blk.ko.xz":             {"name=virtio_blk", "depends=virtio,virtio_ring", "alias=virtio:d00000002v*"},
		"kernel/crypto/xor.ko":                              {"name=xor", "depends="},
		"kernel/lib/raid6/raid6_pq.ko":                      {"name=raid6_pq", "depends="},
		"kernel/lib/libcrc32c.ko":                           {"name=libcrc32c", "depends=", "softdep=pre: crc32c"},
		"kernel/crypto/xxhash_generic.ko":                   {"name=xxhash_generic", "depends=", "alias=crypto-xxhash64", "alias=xxhash64"},
		"kernel/crypto/blake2b_generic.ko":                  {"name=blake2b_generic", "depends=", "alias=crypto-blake2b-256", "alias=blake2b-256"},
		"kernel/fs/btrfs/btrfs.ko":                          {"name=btrfs", "depends=xor,raid6_pq,libcrc32c", "softdep=pre: crc32c xxhash64 sha256 blake2b-256", "alias=fs-btrfs", "alias=devname:btrfs-control"},
		"kernel/drivers/usb/core/usbcore.ko":                {"name=usbcore", "depends=usb_common"},
		"kernel/drivers/usb/common/usb-common.ko":           {"name=usb_common", "depends="},
		"kernel/drivers/usb/storage/usb-storage.ko":         {"name=usb_storage", "depends=usbcore"},
		"kernel/net/unrelated.ko":                           {"name=unrelated", "depends=usbcore"},
	}
	for p, info := range mods {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, compressFor(t, kmodtest.FakeModule(info...), kmod.Compression(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	builtin := "kernel/crypto/crc32c_generic.ko\nkernel/crypto/sha256_generic.ko\nkernel/drivers/nvme/host/nvme.ko\n"
	bInfo := "crc32c_generic.alias=crypto-crc32c\x00crc32c_generic.alias=crc32c\x00" +
		"sha256_generic.alias=crypto-sha256\x00sha256_generic.alias=sha256\x00nvme.license=GPL\x00"
	write(t, dir, "modules.builtin", builtin)
	write(t, dir, "modules.builtin.modinfo", bInfo)
	return dir
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// depmodOutput is what depmod writes for fakeKernel (modules.dep,
// modules.alias), for the runs that read indexes instead of modules.
const depmodDep = `kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko.gz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci.ko.zst: kernel/drivers/virtio/virtio_pci_modern_dev.ko.gz kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/crypto/xor.ko:
kernel/lib/raid6/raid6_pq.ko:
kernel/lib/libcrc32c.ko:
kernel/crypto/xxhash_generic.ko:
kernel/crypto/blake2b_generic.ko:
kernel/fs/btrfs/btrfs.ko: kernel/crypto/xor.ko kernel/lib/raid6/raid6_pq.ko kernel/lib/libcrc32c.ko
kernel/drivers/usb/common/usb-common.ko:
kernel/drivers/usb/core/usbcore.ko: kernel/drivers/usb/common/usb-common.ko
kernel/drivers/usb/storage/usb-storage.ko: kernel/drivers/usb/core/usbcore.ko kernel/drivers/usb/common/usb-common.ko
kernel/net/unrelated.ko: kernel/drivers/usb/core/usbcore.ko kernel/drivers/usb/common/usb-common.ko
`

const depmodAlias = `alias crypto-xxhash64 xxhash_generic
alias xxhash64 xxhash_generic
alias crypto-blake2b-256 blake2b_generic
alias blake2b-256 blake2b_generic
alias fs-btrfs btrfs
alias devname:btrfs-control btrfs
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
alias virtio:d00000002v* virtio_blk
`

func TestSelect(t *testing.T) {
	cases := []struct {
		name    string
		want    []string
		order   string // load order
		builtin []string
		missing []string
	}{
		{
			name:  "virtio disk",
			want:  []string{"virtio_blk", "virtio-pci"},
			order: "virtio_ring virtio virtio_blk virtio_pci_modern_dev virtio_pci",
		},
		{
			name: "btrfs with soft dependencies",
			want: []string{"btrfs"},
			// crc32c and sha256 are built in; xxhash64 and
			// blake2b-256 are aliases of modules, loaded first.
			order: "blake2b_generic libcrc32c raid6_pq xor xxhash_generic btrfs",
		},
		{
			name:  "hyphen and underscore alike, through dependencies",
			want:  []string{"usb_storage"},
			order: "usb_common usbcore usb_storage",
		},
		{
			name:  "an alias",
			want:  []string{"fs-btrfs"},
			order: "blake2b_generic libcrc32c raid6_pq xor xxhash_generic btrfs",
		},
		{
			name:    "built in and missing",
			want:    []string{"nvme", "crc32c", "ahci", "sd_mod", "virtio_ring"},
			order:   "virtio_ring",
			builtin: []string{"nvme", "crc32c"},
			missing: []string{"ahci", "sd_mod"},
		},
		{
			name:    "the default list",
			want:    DefaultModules,
			order:   "blake2b_generic libcrc32c raid6_pq xor xxhash_generic btrfs usb_common usbcore usb_storage virtio_ring virtio virtio_blk virtio_pci_modern_dev virtio_pci",
			builtin: []string{"nvme"},
			missing: []string{"virtio_scsi", "sd_mod", "ahci", "xhci_pci", "ehci_pci"},
		},
		{
			name:  "nothing",
			want:  []string{},
			order: "",
		},
	}
	for _, indexes := range []string{"from modinfo", "from depmod's indexes"} {
		t.Run(indexes, func(t *testing.T) {
			dir := fakeKernel(t)
			if indexes != "from modinfo" {
				write(t, dir, "modules.dep", depmodDep)
				write(t, dir, "modules.alias", depmodAlias)
			}
			m, err := OpenModules(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					sel, err := m.Select(c.want)
					if err != nil {
						t.Fatal(err)
					}
					if got := strings.Join(sel.Names(), " "); got != c.order {
						t.Errorf("load order:\n got %s\nwant %s", got, c.order)
					}
					if !reflect.DeepEqual(sel.Builtin, c.builtin) {
						t.Errorf("builtin %q, want %q", sel.Builtin, c.builtin)
					}
					if !reflect.DeepEqual(sel.Missing, c.missing) {
						t.Errorf("missing %q, want %q", sel.Missing, c.missing)
					}
					checkOrder(t, sel)
				})
			}
		})
	}
}

// checkOrder fails unless every module comes after its dependencies.
func checkOrder(t *testing.T, sel Selection) {
	t.Helper()
	pos := map[string]int{}
	for i, n := range sel.Names() {
		pos[n] = i
	}
	for _, mod := range sel.Modules {
		for _, d := range append(append([]string{}, mod.Deps...), mod.Pre...) {
			if p, ok := pos[d]; !ok || p > pos[mod.Name] {
				t.Errorf("%s loads before its dependency %s", mod.Name, d)
			}
		}
	}
}

// TestSelectDepFileWins: depmod's modules.dep is the authority when
// present (it can differ from modinfo after a configuration of depmod's).
func TestSelectDepFileWins(t *testing.T) {
	dir := fakeKernel(t)
	write(t, dir, "modules.dep", strings.Replace(depmodDep,
		"kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko",
		"kernel/drivers/block/virtio_blk.ko.xz: kernel/crypto/xor.ko kernel/drivers/virtio/virtio.ko", 1))
	m, err := OpenModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := m.Select([]string{"virtio_blk"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sel.Names(), " "); got != "virtio_ring virtio xor virtio_blk" {
		t.Errorf("load order %s", got)
	}
}

func TestOpenModulesErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := OpenModules(empty); err == nil || !strings.Contains(err.Error(), "no modules") {
		t.Errorf("empty directory: %v", err)
	}
	dir := fakeKernel(t)
	write(t, dir, "modules.dep", "kernel/gone.ko:\n")
	if _, err := OpenModules(dir); err == nil || !strings.Contains(err.Error(), "depmod again") {
		t.Errorf("stale modules.dep: %v", err)
	}
	dir = fakeKernel(t)
	write(t, dir, "modules.dep", "not a line\n")
	if _, err := OpenModules(dir); err == nil || !strings.Contains(err.Error(), "modules.dep line 1") {
		t.Errorf("broken modules.dep: %v", err)
	}
	// A module needing one that is not there.
	dir = fakeKernel(t)
	if err := os.Remove(filepath.Join(dir, "kernel/drivers/usb/common/usb-common.ko")); err != nil {
		t.Fatal(err)
	}
	m, err := OpenModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Select([]string{"usb-storage"}); err == nil || !strings.Contains(err.Error(), "usb_common") {
		t.Errorf("missing dependency: %v", err)
	}
	// A module that is not ELF.
	dir = fakeKernel(t)
	write(t, dir, "kernel/lib/raid6/raid6_pq.ko", "garbage")
	m, err = OpenModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Select([]string{"btrfs"}); err == nil || !strings.Contains(err.Error(), "raid6_pq") {
		t.Errorf("garbage module: %v", err)
	}
}

func TestAddModules(t *testing.T) {
	dir := fakeKernel(t)
	m, err := OpenModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := m.Select([]string{"virtio_pci", "virtio_blk", "btrfs"})
	if err != nil {
		t.Fatal(err)
	}
	a := NewArchive(time.Time{})
	if err := m.AddTo(a, sel); err != nil {
		t.Fatal(err)
	}
	hs, err := ReadArchive(bytes.NewReader(mustBytes(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, h := range hs {
		if h.IsRegular() {
			files[h.Name] = h.Data
		}
	}
	base := "lib/modules/6.1.0-test/"
	wantDep := `kernel/crypto/blake2b_generic.ko:
kernel/crypto/xor.ko:
kernel/crypto/xxhash_generic.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/fs/btrfs/btrfs.ko: kernel/crypto/xor.ko kernel/lib/raid6/raid6_pq.ko kernel/lib/libcrc32c.ko
kernel/lib/libcrc32c.ko:
kernel/lib/raid6/raid6_pq.ko:
`
	if got := string(files[base+"modules.dep"]); got != wantDep {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", got, wantDep)
	}
	wantSoft := "softdep btrfs pre: blake2b_generic xxhash_generic\n"
	if got := string(files[base+"modules.softdep"]); got != wantSoft {
		t.Errorf("modules.softdep: %q, want %q", got, wantSoft)
	}
	// Compressed modules are stored decompressed, under the name
	// without the suffix.
	for _, p := range []string{"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/virtio/virtio_pci.ko", "kernel/drivers/virtio/virtio_pci_modern_dev.ko"} {
		info, err := kmod.ReadInfo(bytes.NewReader(files[base+p]))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got := info.First("name"); got != kmod.NameOf(p) {
			t.Errorf("%s: name=%s", p, got)
		}
	}
	var names []string
	for p := range files {
		names = append(names, strings.TrimPrefix(p, base))
	}
	sort.Strings(names)
	if len(names) != len(sel.Modules)+2 {
		t.Errorf("files %q", names)
	}

	// What the archive's modules.dep says is what cairn-init loads: the
	// same order.
	d, err := kmod.ParseDep(bytes.NewReader(files[base+"modules.dep"]))
	if err != nil {
		t.Fatal(err)
	}
	soft, err := kmod.ParseSoftdep(bytes.NewReader(files[base+"modules.softdep"]))
	if err != nil {
		t.Fatal(err)
	}
	pre := map[string][]string{}
	for n, s := range soft {
		pre[n] = s.Pre
	}
	order, err := kmod.LoadOrder(d.Order, d.Deps, pre)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(order, sel.Names()) {
		t.Errorf("order from the archive's indexes %q, selection's %q", order, sel.Names())
	}
}

func TestBuildDeterministic(t *testing.T) {
	dir := fakeKernel(t)
	init := filepath.Join(t.TempDir(), "cairn-init")
	write(t, filepath.Dir(init), "cairn-init", "\x7fELF pretend")
	opts := Options{Init: init, Modules: dir, MTime: time.Unix(1700000000, 0)}
	var one, two bytes.Buffer
	res, err := Build(&one, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(&two, opts); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Fatal("two builds differ")
	}
	plain := decompress(t, one.Bytes(), Gzip)
	if int64(len(plain)) != res.ArchiveSize {
		t.Errorf("archive size %d, reported %d", len(plain), res.ArchiveSize)
	}
	hs, err := ReadArchive(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Header{}
	for _, h := range hs {
		got[h.Name] = h
	}
	for _, want := range []string{"init", "dev/console", "proc", "sys", "sysroot", "run", "lib/modules/6.1.0-test/modules.dep", "lib/modules/6.1.0-test/kernel/fs/btrfs/btrfs.ko"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no %s in the initramfs", want)
		}
	}
	if h := got["init"]; h.Mode != 0o100755 || string(h.Data) != "\x7fELF pretend" {
		t.Errorf("init: mode %o %q", h.Mode, h.Data)
	}
	if _, err := Build(&one, Options{}); err == nil {
		t.Error("built without an init")
	}
}
