package boot

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"golang.org/x/sys/unix"
)

// testStore makes a plain store with generations 1-3: 1 and 2 share a
// kernel, 3 has another; 4 has none.
func testStore(t *testing.T) (*store.Store, []store.Generation) {
	s := storetest.New(t, storetest.Plain(""))
	t.Cleanup(func() { storetest.Thaw(s.Dir()) })
	tree := func(kernel, cmdline string) storetest.Tree {
		tr := storetest.Tree{"etc/cairn/cmdline": cmdline + "\n", "sbin/init": "#!/bin/sh\n"}
		if kernel != "" {
			tr["boot/vmlinuz-virt"] = kernel
			tr["lib/modules/6.6.1-0-virt/modules.dep"] = ""
		}
		return tr
	}
	var gens []store.Generation
	for i, tr := range []storetest.Tree{tree("kernel A", "console=ttyS0"), tree("kernel A", "console=ttyS0 quiet"), tree("kernel B", "console=ttyS0"), tree("", "console=ttyS0")} {
		gens = append(gens, storetest.Build(t, s, tr, store.Meta{Description: "node-" + string(rune('1'+i)), Kernel: "linux-virt 6.6.1-r0"}))
	}
	return s, gens
}

func testOptions(dir string) Options {
	return Options{
		BootDir: dir, Loader: Extlinux, Root: "LABEL=cairn", Serial: true,
		Initramfs: func(g store.Generation, k Kernel) ([]byte, error) {
			// One image per kernel, as cairn-init's are.
			b, err := os.ReadFile(k.Image)
			return append([]byte("initramfs for "+k.Version+": "), b...), err
		},
	}
}

// bootFiles lists the boot directory's files with their contents.
func bootFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			files[rel] = string(b)
		}
		return nil
	})
	return files
}

// referenced checks that every kernel and initramfs the configuration
// names exists, and returns them.
func referenced(t *testing.T, dir, conf string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, conf))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && (f[0] == "LINUX" || f[0] == "INITRD") {
			if _, err := os.Stat(filepath.Join(dir, f[1])); err != nil {
				t.Errorf("%s names %s, which does not exist", conf, f[1])
			}
			out = append(out, f[1])
		}
	}
	return out
}

func TestSync(t *testing.T) {
	_, gens := testStore(t)
	dir := t.TempDir()
	o := testOptions(dir)
	state := store.State{Default: 1, Trial: store.Trial{Generation: 3, TriesLeft: 1}}
	if err := Sync(o, gens, state); err != nil {
		t.Fatal(err)
	}
	files := bootFiles(t, dir)
	var kernels, initrds int
	for name := range files {
		switch {
		case strings.HasPrefix(name, "cairn/vmlinuz-"):
			kernels++
		case strings.HasPrefix(name, "cairn/initrd-"):
			initrds++
		}
	}
	if kernels != 2 || initrds != 2 {
		t.Errorf("%d kernels and %d initramfs images for two distinct kernels: %v", kernels, initrds, files)
	}
	conf := files["extlinux/extlinux.conf"]
	for _, want := range []string{
		"DEFAULT cairn\n",
		"LABEL cairn\n  MENU LABEL Alpine (cairn next boot: trial or default)\n",
		// The default entry names the default, for a state.json gone bad.
		"APPEND root=LABEL=cairn rootfstype=btrfs console=ttyS0 cairn.default=1\n",
		"APPEND root=LABEL=cairn rootfstype=btrfs console=ttyS0 quiet cairn.gen=2\n",
		"LABEL cairn-3\n", "LABEL cairn-1\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("extlinux.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "cairn-4") {
		t.Errorf("generation 4 has no kernel but got an entry:\n%s", conf)
	}
	// The "cairn" entry boots the trial's kernel (generation 3).
	first := referenced(t, dir, "extlinux/extlinux.conf")[:2]
	if files[strings.TrimPrefix(first[0], "/")] != "kernel B" {
		t.Errorf("the default entry boots %q, want the trial's kernel B", files[strings.TrimPrefix(first[0], "/")])
	}

	// Rollback to 1 (trial over) and gc of 3: kernel B leaves the boot
	// directory.
	if err := Sync(o, gens[:2], store.State{Default: 1}); err != nil {
		t.Fatal(err)
	}
	files = bootFiles(t, dir)
	for name, data := range files {
		if data == "kernel B" {
			t.Errorf("%s: generation 3's kernel is still there", name)
		}
	}
	if n := len(referenced(t, dir, "extlinux/extlinux.conf")); n != 6 {
		t.Errorf("%d kernel and initramfs lines, want 6 (three entries)", n)
	}
}

// TestSyncNoKernel: a generation without a kernel cannot be the next
// boot; Sync says which and changes nothing.
func TestSyncNoKernel(t *testing.T) {
	_, gens := testStore(t)
	dir := t.TempDir()
	o := testOptions(dir)
	if err := Sync(o, gens, store.State{Default: 1}); err != nil {
		t.Fatal(err)
	}
	before := bootFiles(t, dir)
	err := Sync(o, gens, store.State{Default: 1, Trial: store.Trial{Generation: 4, TriesLeft: 1}})
	var nk *NoKernelError
	if !errors.As(err, &nk) || nk.Generation != 4 || !strings.Contains(err.Error(), "kernel.package") {
		t.Fatalf("got %v, want generation 4 has no kernel", err)
	}
	after := bootFiles(t, dir)
	if !mapsEqual(before, after) {
		t.Error("the boot directory changed")
	}
}

// TestSyncFullBootDir: a boot partition too small for a new kernel gets a
// clear message, and nothing in it changes.
func TestSyncFullBootDir(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (mounting a small tmpfs)")
	_, gens := testStore(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	o := testOptions(dir)
	if err := Sync(o, gens[:1], store.State{Default: 1}); err == nil || !strings.Contains(err.Error(), "cairn gc") {
		t.Fatalf("got %v, want a full boot directory", err)
	}
	if files := bootFiles(t, dir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestSyncCrash stops Sync at each of its crash points: the configuration
// left behind names only files that exist, and the next Sync completes.
func TestSyncCrash(t *testing.T) {
	for _, point := range []string{PointFilesWritten, PointConfigWritten} {
		t.Run(point, func(t *testing.T) {
			_, gens := testStore(t)
			dir := t.TempDir()
			o := testOptions(dir)
			if err := Sync(o, gens[:2], store.State{Default: 1}); err != nil {
				t.Fatal(err)
			}
			o.Crash = func(p string) error {
				if p == point {
					return errors.New("crash")
				}
				return nil
			}
			if err := Sync(o, gens[2:3], store.State{Default: 3}); err == nil {
				t.Fatal("no crash")
			}
			referenced(t, dir, "extlinux/extlinux.conf")
			o.Crash = nil
			if err := Sync(o, gens[2:3], store.State{Default: 3}); err != nil {
				t.Fatal(err)
			}
			refs := referenced(t, dir, "extlinux/extlinux.conf")
			var names []string
			for name := range bootFiles(t, dir) {
				if strings.HasPrefix(name, "cairn/") && name != "cairn/index.json" {
					names = append(names, "/"+name)
				}
			}
			sort.Strings(names)
			sort.Strings(refs)
			refs = compact(refs)
			if strings.Join(names, " ") != strings.Join(refs, " ") {
				t.Errorf("boot files %v, referenced %v", names, refs)
			}
		})
	}
}

// TestExtlinuxKeywords checks what the golden file cannot: every line
// starts with a keyword extlinux knows. The boot tests boot it for real.
func TestExtlinuxKeywords(t *testing.T) {
	files, err := Render(Extlinux, testMenu())
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"SERIAL": true, "DEFAULT": true, "PROMPT": true, "TIMEOUT": true, "LABEL": true, "MENU": true, "LINUX": true, "INITRD": true, "APPEND": true}
	for _, line := range strings.Split(string(files["extlinux/extlinux.conf"]), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if !known[f[0]] {
			t.Errorf("unknown extlinux keyword %q", f[0])
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func compact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// TestSyncMkinitfs: with the generations' own mkinitfs images, every
// entry names its subvolume, the "cairn" entry boots the default (not a
// trial: nothing would count its tries), and a generation without an
// image is refused with what to do.
func TestSyncMkinitfs(t *testing.T) {
	s := storetest.New(t, storetest.Plain(""))
	t.Cleanup(func() { storetest.Thaw(s.Dir()) })
	tree := func(kernel string, image bool) storetest.Tree {
		tr := storetest.Tree{"etc/cairn/cmdline": "console=ttyS0\n", "boot/vmlinuz-lts": kernel}
		if image {
			tr["boot/initramfs-lts"] = "mkinitfs image of " + kernel
		}
		return tr
	}
	var gens []store.Generation
	for _, tr := range []storetest.Tree{tree("kernel A", true), tree("kernel B", true), tree("kernel C", false)} {
		gens = append(gens, storetest.Build(t, s, tr, store.Meta{Kernel: "linux-lts 6.6.1-r0"}))
	}
	dir := t.TempDir()
	c := Config{BootDir: dir, Loader: Extlinux, Root: "LABEL=cairn", Initramfs: InitramfsMkinitfs}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	o := c.Options(nil)
	if err := Sync(o, gens[:2], store.State{Default: 1, Trial: store.Trial{Generation: 2, TriesLeft: 1}}); err != nil {
		t.Fatal(err)
	}
	files := bootFiles(t, dir)
	conf := files["extlinux/extlinux.conf"]
	for _, want := range []string{
		"LABEL cairn\n  MENU LABEL Alpine (cairn default, generation 1)\n",
		"APPEND root=LABEL=cairn rootfstype=btrfs console=ttyS0 rootflags=subvol=@cairn/generations/1,ro\n",
		"LABEL cairn-2\n",
		"APPEND root=LABEL=cairn rootfstype=btrfs console=ttyS0 rootflags=subvol=@cairn/generations/2,ro\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("extlinux.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "cairn.gen=") {
		t.Errorf("cairn.gen= in an entry without cairn-init:\n%s", conf)
	}
	paths := referenced(t, dir, "extlinux/extlinux.conf")
	if got := files[strings.TrimPrefix(paths[1], "/")]; got != "mkinitfs image of kernel A" {
		t.Errorf("the default entry's initramfs is %q, want generation 1's own", got)
	}

	before := bootFiles(t, dir)
	err := Sync(o, gens, store.State{Default: 3})
	if err == nil || !strings.Contains(err.Error(), "generation 3") || !strings.Contains(err.Error(), "add mkinitfs to the packages") {
		t.Errorf("a generation without a mkinitfs image: %v", err)
	}
	if !mapsEqual(before, bootFiles(t, dir)) {
		t.Error("a refused sync changed the boot directory")
	}
	if err := (&Config{BootDir: dir, Loader: Extlinux, Root: "LABEL=cairn", Initramfs: "dracut"}).Check(); err == nil || !strings.Contains(err.Error(), `initramfs "dracut"`) {
		t.Errorf("an unknown initramfs kind: %v", err)
	}
}

// TestNextBoot: what a kexec boot loads is what the loader's first entry
// boots: the trial's kernel and initramfs, with the entry's command line.
func TestNextBoot(t *testing.T) {
	_, gens := testStore(t)
	dir := t.TempDir()
	o := testOptions(dir)
	state := store.State{Default: 1, Trial: store.Trial{Generation: 3, TriesLeft: 1}}
	if _, err := NextBoot(o, gens, state); err == nil {
		t.Error("NextBoot of an empty boot directory succeeded")
	}
	if err := Sync(o, gens, state); err != nil {
		t.Fatal(err)
	}
	e, err := NextBoot(o, gens, state)
	if err != nil {
		t.Fatal(err)
	}
	first := referenced(t, dir, "extlinux/extlinux.conf")[:2]
	if e.Kernel != filepath.Join(dir, first[0]) || e.Initrd != filepath.Join(dir, first[1]) {
		t.Errorf("NextBoot files %s %s, the first entry's %s %s", e.Kernel, e.Initrd, first[0], first[1])
	}
	if b, _ := os.ReadFile(e.Kernel); string(b) != "kernel B" {
		t.Errorf("NextBoot's kernel holds %q, want the trial's kernel B", b)
	}
	conf := bootFiles(t, dir)["extlinux/extlinux.conf"]
	if e.ID != "cairn" || e.Generation != 3 || !strings.Contains(conf, "APPEND "+e.Options+"\n") {
		t.Errorf("NextBoot %+v is not the first entry of\n%s", e, conf)
	}
	if _, err := NextBoot(o, gens, store.State{Default: 4}); err == nil {
		t.Error("NextBoot of a generation without a kernel succeeded")
	}
}

// TestSyncUnchangedWritesNothing: a sync whose entries are already there
// replaces no file (on a FAT boot partition each replacement is a window
// for a power cut to damage it): every file keeps its inode.
func TestSyncUnchangedWritesNothing(t *testing.T) {
	_, gens := testStore(t)
	dir := t.TempDir()
	o := testOptions(dir)
	state := store.State{Default: 1, Trial: store.Trial{Generation: 3, TriesLeft: 1}}
	if err := Sync(o, gens, state); err != nil {
		t.Fatal(err)
	}
	inodes := func() map[string]uint64 {
		m := map[string]uint64{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				fi, _ := d.Info()
				m[p] = fi.Sys().(*syscall.Stat_t).Ino
			}
			return nil
		})
		return m
	}
	before := inodes()
	if err := Sync(o, gens, state); err != nil {
		t.Fatal(err)
	}
	after := inodes()
	if len(before) != len(after) {
		t.Fatalf("files before %d, after %d", len(before), len(after))
	}
	for p, ino := range before {
		if after[p] != ino {
			t.Errorf("%s was replaced by a sync that changed nothing", p)
		}
	}
	// A change of default rewrites what names it.
	if err := Sync(o, gens, store.State{Default: 2}); err != nil {
		t.Fatal(err)
	}
	if changed := inodes(); changed[filepath.Join(dir, "extlinux", "extlinux.conf")] == before[filepath.Join(dir, "extlinux", "extlinux.conf")] {
		t.Error("a new default did not rewrite extlinux.conf")
	}
}
