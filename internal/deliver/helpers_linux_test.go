package deliver

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// testTree writes a tree with every kind of entry a root file system
// has, and 4 MiB of incompressible file content; with extra, a small
// package more and a changed file. With base false only the extra part
// is written (into a copy of the base tree).
func testTree(t testing.TB, dir string, base, extra bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		os.Remove(p)
		must(os.WriteFile(p, data, 0o600))
		must(os.Chmod(p, mode))
	}
	if base {
		for _, d := range []string{"etc", "usr/bin", "usr/lib/big", "var/empty", "tmp", "dev"} {
			must(os.MkdirAll(filepath.Join(dir, d), 0o755))
		}
		for i := range 64 {
			write(filepath.Join("usr/lib/big", "lib"+string(rune('a'+i%26))+string(rune('a'+i/26))+".so"), random(64<<10), 0o755)
		}
		write("etc/hostname", []byte("node\n"), 0o644)
		write("etc/version", []byte("1\n"), 0o644)
		write("etc/empty", nil, 0o644)
		write("etc/shadow", []byte("root:*:19000:0:::::\n"), 0o640)
		must(os.Chown(filepath.Join(dir, "etc/shadow"), 0, 42))
		write("usr/bin/tool", random(20000), 0o755)
		write("usr/bin/su", random(9000), 0o755)
		must(unix.Chmod(filepath.Join(dir, "usr/bin/su"), 0o4755))
		data, _ := os.ReadFile(filepath.Join(dir, "usr/bin/tool"))
		write("usr/bin/same-as-tool", data, 0o700) // same content, other mode
		must(os.Link(filepath.Join(dir, "usr/bin/tool"), filepath.Join(dir, "usr/bin/tool-link")))
		must(os.Symlink("../usr/bin/tool", filepath.Join(dir, "etc/tool")))
		must(unix.Mkfifo(filepath.Join(dir, "dev/initctl"), 0o600))
		must(unix.Mknod(filepath.Join(dir, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(unix.Setxattr(filepath.Join(dir, "usr/bin/tool"), "user.cairn.test", []byte("yes"), 0))
		must(os.Chown(filepath.Join(dir, "var/empty"), 1000, 1000))
		must(os.Chmod(filepath.Join(dir, "var/empty"), 0o555))
		must(os.Chmod(filepath.Join(dir, "tmp"), 0o1777|os.ModeSticky))
	}
	if extra {
		rng = rand.New(rand.NewPCG(3, 4))
		must(os.MkdirAll(filepath.Join(dir, "usr/share/htop"), 0o755))
		write("usr/bin/htop", random(40000), 0o755)
		write("usr/share/htop/README", []byte("htop\n"), 0o644)
		write("etc/version", []byte("2\n"), 0o644)
	}
	// Fixed times, deepest first.
	mtime := unix.NsecToTimespec(time.Unix(1700000000, 0).UnixNano())
	var paths []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	})
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		must(unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{mtime, mtime}, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// buildGen seals a generation of testTree into s. On btrfs a generation
// with extra starts as a snapshot of from, as builds share their data
// (builds reflink from the file cache).
func buildGen(t testing.TB, s *store.Store, extra bool, desc string, from ...store.Generation) store.Generation {
	t.Helper()
	var st *store.Staging
	var err error
	if len(from) > 0 && s.Backend() == store.BackendBtrfs {
		st, err = s.BeginStagingFrom(from[0].Path)
	} else {
		st, err = s.BeginStaging()
	}
	if err != nil {
		t.Fatal(err)
	}
	testTree(t, st.Dir(), len(from) == 0 || s.Backend() != store.BackendBtrfs, extra)
	if s.Backend() == store.BackendPlain {
		if _, err := st.ShareWithCache(); err != nil {
			t.Fatal(err)
		}
	}
	g, err := st.Seal(store.Meta{Description: desc, Kernel: "linux-virt 6.6", Packages: []store.Package{{Name: "busybox", Version: "1.36"}}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// buildOther seals a small generation unlike testTree's, the node's own.
func buildOther(t testing.TB, s *store.Store) store.Generation {
	t.Helper()
	return storetest.Build(t, s, storetest.Tree{"etc/hostname": "other\n", "bin/sh": "#!/bin/true\n"}, store.Meta{Description: "the node's own"})
}

// newKey makes a signing key in a temporary directory.
func newKey(t testing.TB) (PrivateKey, []PublicKey) {
	t.Helper()
	k, err := GenerateKey(filepath.Join(t.TempDir(), "fleet.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k, []PublicKey{k.Public()}
}

// pipeDelivery runs Push and ReceiveStream against each other over
// pipes, as cairn push and cairn receive do over ssh, and counts the
// bytes both ways.
func pipeDelivery(t testing.TB, p *Prepared, rc *Receiver) (pushed Result, received Result, wire int64, pushErr, recvErr error) {
	t.Helper()
	toR, fromS := io.Pipe()
	toS, fromR := io.Pipe()
	var c Counter
	done := make(chan struct{})
	go func() {
		defer close(done)
		received, recvErr = rc.ReceiveStream(context.Background(), toR, fromR)
		fromR.Close()
		io.Copy(io.Discard, toR)
	}()
	pushed, pushErr = Push(context.Background(), p, c.Reader(toS), c.Writer(fromS))
	fromS.Close()
	io.Copy(io.Discard, toS)
	<-done
	return pushed, received, c.Sent() + c.Received(), pushErr, recvErr
}

// snapshot is what "nothing changed" compares: every name under @cairn
// except the lock file, with file contents.
func snapshot(t testing.TB, s *store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	top := filepath.Join(s.Dir(), "@cairn")
	filepath.Walk(top, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, p)
		if rel == "lock" {
			return nil
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() && fi.Size() < 1<<20 {
			data, _ := os.ReadFile(p)
			v += " " + string(data)
		}
		out[rel] = v
		return nil
	})
	return out
}

func sameSnapshot(t testing.TB, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for k, v := range before {
		if after[k] != v {
			diffs = append(diffs, "changed or gone: "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "new: "+k)
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("the receiving store changed:\n%s", bytes.Join(func() [][]byte {
			var b [][]byte
			for _, d := range diffs[:min(len(diffs), 20)] {
				b = append(b, []byte(d))
			}
			return b
		}(), []byte("\n")))
	}
}

// sameTree fails unless the two trees have the same listing.
func sameTree(t testing.TB, a, b string) {
	t.Helper()
	la, err := MakeListing(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := MakeListing(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if la.Digest() != lb.Digest() {
		t.Errorf("%s and %s differ: %s", a, b, firstDifference(lb.Data, la.Data))
	}
}

// plainStore and btrfsStore make a store locked until the test ends.
func plainStore(t *testing.T) *store.Store { return storetest.New(t, storetest.Plain("")) }
