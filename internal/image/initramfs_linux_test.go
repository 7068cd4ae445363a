//go:build linux

package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

// ramTree is a small generation as a RAM image takes it: cairn-init, a
// kernel in /boot, a command line, and one entry of every kind.
func ramTree(t testing.TB) *treeBuilder {
	t.Helper()
	requireRoot(t)
	b := newTree(t)
	b.file("usr/lib/cairn/cairn-init", []byte("\x7fELF cairn-init"), 0o755)
	b.file("usr/lib/cairn/generation.json", []byte(`{"name": "t", "description": "it's a\ntest", "kernel": "linux-virt"}`), 0o644)
	b.file("boot/vmlinuz-virt", []byte("the kernel"), 0o644)
	b.file("boot/config-virt", []byte("CONFIG_RD_GZIP=y\n"), 0o644)
	b.file("etc/cairn/cmdline", []byte("console=ttyS0 quiet\n"), 0o644)
	b.file("bin/busybox", []byte("\x7fELF busybox"), 0o755)
	b.symlink("busybox", "bin/sh")
	b.file("bin/su", []byte("setuid"), 0o755)
	b.chmod("bin/su", 0o4755)
	b.file("bin/ping", []byte("ping"), 0o755)
	b.file("etc/shadow", []byte("root:*:"), 0o640)
	b.chown("etc/shadow", 0, 42)
	b.chmod("etc/shadow", 0o640)
	b.file("usr/lib/a", []byte("linked"), 0o644)
	b.link("usr/lib/a", "usr/lib/b")
	b.dir("tmp", 0o1777)
	b.dir("dev", 0o755)
	b.dir("srv/empty", 0o700)
	b.chown("srv/empty", 1000, 1000)
	b.check(unix.Mkfifo(b.path("run-fifo"), 0o600))
	return b
}

// readImage returns the archive of an initramfs image, by name.
func readImage(t testing.TB, p string, c Compression) map[string]initramfs.Header {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(data)
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case Zstd:
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	hdrs, err := initramfs.ReadArchive(r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]initramfs.Header{}
	prev := ""
	for _, h := range hdrs {
		if h.Name <= prev {
			t.Errorf("archive not sorted: %s after %s", h.Name, prev)
		}
		prev = h.Name
		out[h.Name] = h
	}
	return out
}

func TestInitramfsWrite(t *testing.T) {
	requireRoot(t)
	b := ramTree(t)
	b.mknod("dev/null", unix.S_IFCHR|0o666, 1, 3)
	b.xattr("bin/ping", "security.capability", capNetRaw)
	out := filepath.Join(t.TempDir(), "ram")
	f := Initramfs{Persist: "LABEL=data"}
	res, err := f.Write(context.Background(), Source{Root: b.root, Epoch: testEpoch}, out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range res.Outputs[1:] {
		names = append(names, filepath.Base(o))
	}
	if res.Outputs[0] != out || strings.Join(names, " ") != "vmlinuz initramfs.gz cmdline extlinux.conf grub.cfg" {
		t.Errorf("outputs %q", res.Outputs)
	}
	files := map[string]string{}
	var total int64
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(data)
		total += int64(len(data))
	}
	if res.Size != total {
		t.Errorf("size %d, the files have %d", res.Size, total)
	}
	if files["vmlinuz"] != "the kernel" {
		t.Errorf("vmlinuz: %q", files["vmlinuz"])
	}
	cmdline := "console=ttyS0 quiet cairn.persist=LABEL=data"
	if files["cmdline"] != cmdline+"\n" {
		t.Errorf("cmdline: %q", files["cmdline"])
	}
	for _, want := range []string{"MENU LABEL Alpine (cairn RAM system, it's a test)\n", "LINUX vmlinuz\n", "INITRD initramfs.gz\n", "APPEND " + cmdline + "\n"} {
		if !strings.Contains(files["extlinux.conf"], want) {
			t.Errorf("extlinux.conf lacks %q:\n%s", want, files["extlinux.conf"])
		}
	}
	for _, want := range []string{`menuentry 'Alpine (cairn RAM system, it'\''s a test)' --id cairn-ram {`, "linux /vmlinuz " + cmdline + "\n", "initrd /initramfs.gz\n"} {
		if !strings.Contains(files["grub.cfg"], want) {
			t.Errorf("grub.cfg lacks %q:\n%s", want, files["grub.cfg"])
		}
	}

	a := readImage(t, filepath.Join(out, "initramfs.gz"), Gzip)
	if int64(len(a)) < int64(res.Entries) {
		t.Errorf("%d entries reported, %d in the archive", res.Entries, len(a))
	}
	check := func(name string, ok func(h initramfs.Header) bool, what string) {
		t.Helper()
		h, found := a[name]
		if !found {
			t.Errorf("%s: not in the archive", name)
			return
		}
		if !ok(h) {
			t.Errorf("%s: %+v, want %s", name, h, what)
		}
	}
	check("init", func(h initramfs.Header) bool { return h.IsSymlink() && string(h.Data) == "usr/lib/cairn/cairn-init" }, "a link to cairn-init")
	check("dev/console", func(h initramfs.Header) bool {
		return h.Mode == unix.S_IFCHR|0o600 && h.RdevMajor == 5 && h.RdevMinor == 1
	}, "c 5 1")
	check("dev/null", func(h initramfs.Header) bool {
		return h.Mode == unix.S_IFCHR|0o666 && h.RdevMajor == 1 && h.RdevMinor == 3
	}, "c 1 3")
	check("bin/su", func(h initramfs.Header) bool { return h.Mode == unix.S_IFREG|0o4755 && string(h.Data) == "setuid" }, "setuid")
	check("bin/sh", func(h initramfs.Header) bool { return h.IsSymlink() && string(h.Data) == "busybox" }, "-> busybox")
	check("etc/shadow", func(h initramfs.Header) bool { return h.GID == 42 && h.Mode == unix.S_IFREG|0o640 }, "root:42 0640")
	check("usr/lib/b", func(h initramfs.Header) bool { return h.IsRegular() && string(h.Data) == "linked" }, "a copy of usr/lib/a")
	check("tmp", func(h initramfs.Header) bool { return h.Mode == unix.S_IFDIR|0o1777 }, "sticky")
	check("srv/empty", func(h initramfs.Header) bool { return h.Mode == unix.S_IFDIR|0o700 && h.UID == 1000 }, "1000's")
	check("boot/config-virt", func(h initramfs.Header) bool { return h.IsRegular() }, "kept")
	check("usr/lib/cairn/ram/modules", func(h initramfs.Header) bool {
		l, err := cairninit.ReadModuleList(bytes.NewReader(h.Data))
		return err == nil && l.Kernel == "" && len(l.Paths) == 0
	}, "an empty module list (the tree has no modules)")
	for name, h := range a {
		if h.MTime != uint32(testEpoch.Unix()) {
			t.Errorf("%s: time %d, want the epoch", name, h.MTime)
		}
	}
	for _, gone := range []string{"boot/vmlinuz-virt", "run-fifo"} {
		if _, ok := a[gone]; ok {
			t.Errorf("%s is in the archive", gone)
		}
	}
	skipped := strings.Join(res.Skipped, "\n")
	if !strings.Contains(skipped, "run-fifo") || !strings.Contains(skipped, "bin/ping (extended attributes security.capability not stored") {
		t.Errorf("skipped: %q", res.Skipped)
	}

	// Debian's cpio reads it, with the same names.
	cpio := debtest.Tool(t, "cpio", "cpio")
	raw, err := os.ReadFile(filepath.Join(out, "initramfs.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cpio, "-it", "--quiet")
	cmd.Stdin = bytes.NewReader(plain)
	listed, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -it: %v", err)
	}
	if n := len(strings.Split(strings.TrimSpace(string(listed)), "\n")); n != len(a) {
		t.Errorf("cpio lists %d entries, the archive has %d", n, len(a))
	}

	// The output exists now: refused.
	if _, err := f.Write(context.Background(), Source{Root: b.root, Epoch: testEpoch}, out); !errors.Is(err, fs.ErrExist) {
		t.Errorf("writing over an image: %v", err)
	}
}

func TestInitramfsReproducible(t *testing.T) {
	b := ramTree(t)
	b.file("var/lib/data", mixedData(3<<20), 0o644)
	src := Source{Root: b.root, Epoch: testEpoch}
	for _, c := range []Compression{Gzip, Zstd, None} {
		var sums []string
		for _, procs := range []int{1, 4} {
			out := filepath.Join(t.TempDir(), "ram")
			f := Initramfs{Compression: c}
			if _, err := f.write(context.Background(), src, out, procs); err != nil {
				t.Fatal(err)
			}
			var all []byte
			for _, name := range []string{InitramfsKernel, f.InitrdName(), InitramfsCmdline, InitramfsExtlinux, InitramfsGrub} {
				data, err := os.ReadFile(filepath.Join(out, name))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, data...)
			}
			sum := sha256.Sum256(all)
			sums = append(sums, hex.EncodeToString(sum[:]))
			if procs == 1 {
				a := readImage(t, filepath.Join(out, f.InitrdName()), c)
				if !bytes.Equal(a["var/lib/data"].Data, mixedData(3<<20)) {
					t.Errorf("%s: var/lib/data does not read back", c)
				}
			}
		}
		if sums[0] != sums[1] {
			t.Errorf("%s: 1 and 4 workers give different images", c)
		}
	}
}

func TestInitramfsRefuses(t *testing.T) {
	ctx := context.Background()
	write := func(root string, f Initramfs) error {
		_, err := f.Write(ctx, Source{Root: root, Epoch: testEpoch}, filepath.Join(t.TempDir(), "ram"))
		return err
	}
	cases := []struct {
		name  string
		setup func(b *treeBuilder)
		f     Initramfs
		want  string
	}{
		{name: "no cairn-init", setup: func(b *treeBuilder) { os.Remove(b.path("usr/lib/cairn/cairn-init")) }, want: "no cairn-init in the generation"},
		{name: "an /init of its own", setup: func(b *treeBuilder) { b.file("init", []byte("#!/bin/sh"), 0o755) }, want: "has an /init of its own"},
		{name: "no kernel", setup: func(b *treeBuilder) { os.Remove(b.path("boot/vmlinuz-virt")) }, want: "no kernel in its /boot"},
		{name: "a kernel that is not there", f: Initramfs{Kernel: "/nonexistent/vmlinuz"}, want: "kernel:"},
		{name: "a bad persistence device", f: Initramfs{Persist: "PARTUUID=1234"}, want: "cairn.persist=PARTUUID=1234"},
		{name: "a label the command line cannot carry", f: Initramfs{Persist: "LABEL=my data"}, want: "use UUID="},
		{name: "an unknown compression", f: Initramfs{Compression: "lz4"}, want: `compression "lz4"`},
		{name: "cairn's directory taken", setup: func(b *treeBuilder) { b.dir("usr/lib/cairn/ram", 0o755) }, want: "has a /usr/lib/cairn/ram already"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ramTree(t)
			if c.setup != nil {
				c.setup(b)
			}
			err := write(b.root, c.f)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
		})
	}
	t.Run("a kernel from elsewhere", func(t *testing.T) {
		b := ramTree(t)
		k := filepath.Join(t.TempDir(), "bzImage")
		if err := os.WriteFile(k, []byte("another kernel"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "ram")
		if _, err := (Initramfs{Kernel: k}).Write(ctx, Source{Root: b.root}, out); err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(filepath.Join(out, InitramfsKernel)); string(data) != "another kernel" {
			t.Errorf("vmlinuz: %q", data)
		}
		if _, ok := readImage(t, filepath.Join(out, "initramfs.gz"), Gzip)["boot/vmlinuz-virt"]; ok {
			t.Error("the generation's own kernel is in the archive")
		}
	})
}

// TestInitramfsModules makes the image of a tree holding modules of
// Debian's cloud kernel, some compressed as Alpine ships them: the list
// cairn-init loads names files the archive holds, plain.
func TestInitramfsModules(t *testing.T) {
	k := debtest.CloudKernel(t)
	b := ramTree(t)
	mods := filepath.Join("lib", "modules", k.Version)
	copyMod := func(rel string, compress bool) {
		data, err := os.ReadFile(filepath.Join(k.Modules, rel))
		if err != nil {
			t.Fatal(err)
		}
		if compress {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data, rel = buf.Bytes(), rel+".gz"
		}
		b.file(filepath.Join(mods, rel), data, 0o644)
	}
	for _, rel := range []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/block/virtio_blk.ko"} {
		copyMod(rel, false)
	}
	copyMod("kernel/drivers/virtio/virtio_pci.ko", true)
	copyMod("kernel/drivers/virtio/virtio_pci_legacy_dev.ko", true)
	copyMod("kernel/drivers/virtio/virtio_pci_modern_dev.ko", true)
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo"} {
		data, err := os.ReadFile(filepath.Join(k.Modules, f))
		if err != nil {
			t.Fatal(err)
		}
		b.file(filepath.Join(mods, f), data, 0o644)
	}
	out := filepath.Join(t.TempDir(), "ram")
	f := Initramfs{}
	if _, err := f.Write(context.Background(), Source{Root: b.root, Epoch: testEpoch}, out); err != nil {
		t.Fatal(err)
	}
	a := readImage(t, filepath.Join(out, "initramfs.gz"), Gzip)
	l, err := cairninit.ReadModuleList(bytes.NewReader(a["usr/lib/cairn/ram/modules"].Data))
	if err != nil {
		t.Fatal(err)
	}
	if l.Kernel != k.Version || len(l.Paths) != 6 {
		t.Fatalf("module list %+v", l)
	}
	pos := map[string]int{}
	for i, p := range l.Paths {
		h, ok := a[strings.TrimPrefix(p, "/")]
		if !ok || !h.IsRegular() || !bytes.HasPrefix(h.Data, []byte("\x7fELF")) {
			t.Errorf("%s: not a plain module in the archive", p)
		}
		pos[filepath.Base(p)] = i
	}
	if !strings.HasPrefix(l.Paths[pos["virtio_pci.ko"]], "/usr/lib/cairn/ram/modules.d/"+k.Version+"/kernel/drivers/virtio/") {
		t.Errorf("a compressed module's plain copy: %s", l.Paths[pos["virtio_pci.ko"]])
	}
	if !strings.HasPrefix(l.Paths[pos["virtio_blk.ko"]], "/"+filepath.ToSlash(mods)+"/kernel/drivers/block/") {
		t.Errorf("a plain module: %s", l.Paths[pos["virtio_blk.ko"]])
	}
	if pos["virtio.ko"] > pos["virtio_blk.ko"] || pos["virtio_ring.ko"] > pos["virtio_blk.ko"] || pos["virtio_pci_modern_dev.ko"] > pos["virtio_pci.ko"] {
		t.Errorf("not in load order: %q", l.Paths)
	}

	ex, err := f.Explain(context.Background(), Source{Root: b.root, Epoch: testEpoch}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Added) != 4 || len(ex.Modules) != 6 {
		t.Errorf("added %+v, modules %q", ex.Added, ex.Modules)
	}
}

// TestInitramfsBenchHelper is not a test but cairn's side of the
// initramfs benchmark in docs/benchmarks.md, run as a process of its own
// under /usr/bin/time (the helper-process pattern of os/exec's tests):
// with CAIRN_BENCH_INITRAMFS=ROOT:KERNEL:OUT[:COMPRESSION] it writes the
// initramfs image of ROOT to OUT; without it, it does nothing.
func TestInitramfsBenchHelper(t *testing.T) {
	spec := os.Getenv("CAIRN_BENCH_INITRAMFS")
	if spec == "" {
		return
	}
	parts := strings.Split(spec, ":")
	if len(parts) < 3 {
		t.Fatalf("CAIRN_BENCH_INITRAMFS=%s: want ROOT:KERNEL:OUT[:COMPRESSION]", spec)
	}
	f := Initramfs{Kernel: parts[1]}
	if len(parts) > 3 {
		f.Compression = Compression(parts[3])
	}
	res, err := f.Write(context.Background(), Source{Root: parts[0], Epoch: testEpoch}, parts[2])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d entries, cpio %d bytes, output %d bytes", res.Entries, res.TarSize, res.Size)
}
