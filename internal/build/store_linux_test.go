package build

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// realInstalledSizes reads the installed size of every package of the
// real Alpine 3.19 main index.
func realInstalledSizes(t testing.TB) map[string]int64 {
	t.Helper()
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	keys, err := apkfile.LoadKeyring(filepath.Join(fx, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(fx, "main-x86_64-APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := apkfile.ReadIndex(data, apkfile.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := apk.ParseIndex(idx.Text)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, p := range pkgs {
		sizes[p.Name] = p.InstalledSize
	}
	return sizes
}

// buildTwoGenerations builds the minimal node example as generation 1 of
// st, with stand-ins as large as Alpine's real packages (linux-virt alone
// is 47 MB), then generation 2 with one small package (htop) more.
func buildTwoGenerations(t *testing.T, st *store.Store) (g1, g2 store.Generation) {
	unlock, err := st.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	w := newWorld(t)
	path := filepath.Join(testutil.ModuleRoot(t), "examples", "minimal", "system.yaml")
	load := func(extra ...string) *manifest.System {
		sys, err := manifest.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		sys.ApplyDefaults()
		sys.Packages = append(sys.Packages, extra...)
		return sys
	}
	sizes := realInstalledSizes(t)
	stand := w.sizedStandIns(t, load("htop"), func(name string) int64 { return sizes[name] })
	cache := t.TempDir()
	build := func(sys *manifest.System) store.Generation {
		t.Helper()
		sys.Alpine.Repositories = []manifest.Repository{{URL: w.real}, {URL: stand.URL()}, {URL: w.synth}}
		sys.Alpine.Keys = []string{w.keys}
		_, gen, err := IntoStore(context.Background(), st, Request{
			Manifest: sys, ManifestPath: path, CacheDir: cache, Out: io.Discard, Err: io.Discard, Version: "test",
		})
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		return gen
	}
	g1 = build(load())
	g2 = build(load("htop"))
	if g1.Number != 1 || g2.Number != 2 {
		t.Fatalf("generations %d and %d, want 1 and 2", g1.Number, g2.Number)
	}
	if fileExists(filepath.Join(g1.Path, "usr/lib/htop")) || !fileExists(filepath.Join(g2.Path, "usr/lib/htop")) {
		t.Error("htop should be in generation 2 only")
	}
	if g2.Meta.Parent != 0 || len(g2.Meta.Packages) != len(g1.Meta.Packages)+1 || g1.Meta.Kernel == "" {
		t.Errorf("metadata: %+v", g2.Meta)
	}
	return g1, g2
}

// TestStoreGenerationsShareSpace: on btrfs, generation 2's files are
// reflinked from the store's file cache, so the space it adds (its
// exclusive bytes, as btrfs quota groups count them) is under 5 % of
// generation 1's size. Without the file cache it would be about 100 %.
func TestStoreGenerationsShareSpace(t *testing.T) {
	top := btrfstest.NewFS(t, btrfstest.Options{Size: 2 << 30, Quota: true})
	st, err := store.Init(top, store.InitOptions{Quota: true})
	if err != nil {
		t.Fatal(err)
	}
	g1, g2 := buildTwoGenerations(t, st)
	for _, g := range []store.Generation{g1, g2} {
		if ro, err := btrfs.ReadOnly(g.Path); err != nil || !ro {
			t.Errorf("generation %d is not a read-only subvolume (%v)", g.Number, err)
		}
	}
	size1 := btrfstest.ReferencedBytes(t, g1.Path)
	added := btrfstest.ExclusiveBytes(t, g2.Path)
	t.Logf("generation 1: %d bytes; generation 2 adds %d bytes (%.2f %%)", size1, added, 100*float64(added)/float64(size1))
	if size1 < 40<<20 {
		t.Fatalf("generation 1 holds only %d bytes: the stand-ins are not the size of the real packages", size1)
	}
	if added*20 >= size1 {
		t.Errorf("generation 2 adds %d bytes, %.1f %% of generation 1's %d: not under 5 %%", added, 100*float64(added)/float64(size1), size1)
	}
	// A deleted subvolume holds its extents until btrfs's cleaner has
	// dropped it; wait for that.
	pruneAfterDelete(t, st, g1, func() {
		// A commit wakes the cleaner, which otherwise waits for the
		// next periodic one (30 s).
		if err := btrfs.Sync(top); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("btrfs", "subvolume", "sync", top).CombinedOutput(); err != nil {
			t.Fatalf("btrfs subvolume sync: %v\n%s", err, out)
		}
	})
}

// TestPlainStoreGenerationsShareFiles: on a plain store (the test's
// temporary directory: ext4 or tmpfs), generation 2's unchanged files are
// hard links to generation 1's, through the store's objects.
func TestPlainStoreGenerationsShareFiles(t *testing.T) {
	top := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(top) })
	st, err := store.Init(top, store.InitOptions{Backend: store.BackendPlain})
	if err != nil {
		t.Fatal(err)
	}
	g1, g2 := buildTwoGenerations(t, st)
	kernelFile := "usr/lib/linux-virt/data/0000"
	a, err1 := os.Stat(filepath.Join(g1.Path, kernelFile))
	b, err2 := os.Stat(filepath.Join(g2.Path, kernelFile))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !os.SameFile(a, b) {
		t.Errorf("%s is not shared by the two generations", kernelFile)
	}
	u1, err := st.Usage(1)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := st.Usage(2)
	if err != nil {
		t.Fatal(err)
	}
	size1 := u1.Exclusive + u1.Shared
	t.Logf("generation 1: %d bytes; generation 2 adds %d bytes (%.2f %%)", size1, u2.Exclusive, 100*float64(u2.Exclusive)/float64(size1))
	if u2.Exclusive*20 >= size1 {
		t.Errorf("generation 2 holds %d bytes of its own, %.1f %% of generation 1's %d: not under 5 %%", u2.Exclusive, 100*float64(u2.Exclusive)/float64(size1), size1)
	}
	if err := os.WriteFile(filepath.Join(g2.Path, "etc/hostname"), []byte("x\n"), 0o644); err == nil {
		t.Error("a sealed generation's file could be written")
	}
	pruneAfterDelete(t, st, g1, func() {})
}

// pruneAfterDelete deletes generation 2 and prunes the cache: the files
// only generation 2 had (htop's) leave the cache, generation 1's stay,
// and generation 1 is intact.
func pruneAfterDelete(t *testing.T, st *store.Store, g1 store.Generation, settle func()) {
	t.Helper()
	unlock, err := st.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	before := treeState(t, g1.Path)
	if err := st.Delete(2); err != nil {
		t.Fatal(err)
	}
	settle()
	res, err := st.PruneCache()
	if err != nil {
		t.Fatal(err)
	}
	htop := realInstalledSizes(t)["htop"]
	t.Logf("pruned %d files, %d bytes (htop's stand-in: %d bytes)", res.Files, res.Bytes, htop)
	if res.Bytes < htop || res.Bytes > 2*htop {
		t.Errorf("pruned %d bytes; htop's files alone hold %d", res.Bytes, htop)
	}
	if res2, err := st.PruneCache(); err != nil || res2.Files != 0 {
		t.Errorf("a second prune removed %d files (%v)", res2.Files, err)
	}
	if d := diffStates(before, treeState(t, g1.Path)); len(d) > 0 {
		t.Errorf("generation 1 changed: %v", d)
	}
}
