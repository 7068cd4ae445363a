package deliver

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/image"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// TestRealAlpineDelivery is the delivery benchmark's measurement (run by
// bench/deliver.sh): the real Alpine 3.19 system of the e2e tests
// (alpine-base, OpenSSH, chrony, doas, Debian's kernel as linux-virt)
// built twice by cairn build on a btrfs store, the second time with one
// small package more (iw). Generation 1 goes to a node that holds
// nothing of it, then generation 2, to a btrfs node and to a plain one:
// only the files they lack (reflinked from their own generations on
// btrfs); and, for comparison, to a btrfs node asking for a send stream
// against generation 1 although the two builds are not snapshots of one
// another. Generation 2 must cost under 5 % of generation 1's bytes on
// the wire by files. The same trees by rsync, and the full image (cairn's tar),
// are measured beside it.
func TestRealAlpineDelivery(t *testing.T) {
	e2etest.DiskTools(t)
	cairn := e2etest.Binaries(t)
	repo := e2etest.MakeAlpineRepo(t, cairn)
	// Not locked by the test: cairn build takes the store's lock itself.
	srcDir := storetest.Btrfs(t, btrfstest.Options{Size: 2 << 30}, store.InitOptions{}).Dir(t)
	if _, err := store.Init(srcDir, store.InitOptions{Backend: store.BackendBtrfs}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	build := func(name string, pkgs ...string) store.Generation {
		dir := filepath.Join(work, name)
		os.MkdirAll(dir, 0o755)
		mf := repo.Manifest(t, dir, e2etest.AlpineSystem{Description: name, Motd: name, Key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBenchBen bench", Packages: pkgs})
		e2etest.Run(t, cairn, "build", "-f", mf, "--store", srcDir)
		s, err := store.Open(srcDir)
		if err != nil {
			t.Fatal(err)
		}
		gens, err := s.Generations()
		if err != nil {
			t.Fatal(err)
		}
		return gens[len(gens)-1]
	}
	g1 := build("generation-1")
	g2 := build("generation-2", "iw")
	src, err := store.Open(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	key, trusted := newKey(t)
	sender := &Sender{Store: src, Key: key, Name: "builder"}
	prep := func(g store.Generation) *Prepared {
		p, err := sender.Prepare(context.Background(), g.Number)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1, p2 := prep(g1), prep(g2)
	tree := p2.Header().Bytes
	tarBytes, zstBytes := imageBytes(t, g2.Path)
	t.Logf("generation 2: %d entries, %d bytes of file content; cairn image --format tar: %d bytes, %d compressed with zstd",
		p2.Header().Entries, tree, tarBytes, zstBytes)

	for _, backend := range []string{store.BackendBtrfs, store.BackendPlain, "btrfs-stream"} {
		var node *store.Store
		if backend != store.BackendPlain {
			node = storetest.New(t, storetest.Btrfs(t, btrfstest.Options{Size: 2 << 30}, store.InitOptions{}))
		} else {
			node = storetest.New(t, storetest.Plain(""))
		}
		// btrfs-stream: a send stream although the two builds are not
		// snapshots of one another, for the comparison.
		rc := &Receiver{Store: node, Trusted: trusted, anyParent: backend == "btrfs-stream"}
		start := time.Now()
		r1, _, wire1, perr, rerr := pipeDelivery(t, p1, rc)
		d1 := time.Since(start)
		if perr != nil || rerr != nil {
			t.Fatal(perr, rerr)
		}
		start = time.Now()
		r2, _, wire2, perr, rerr := pipeDelivery(t, p2, rc)
		d2 := time.Since(start)
		if perr != nil || rerr != nil {
			t.Fatal(perr, rerr)
		}
		got, err := node.Get(r2.Generation)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, g2.Path, got.Path)
		t.Logf("BENCH %s node: generation 1 %d bytes (%s, %.1f s); generation 2 %d bytes = %.2f %% of generation 1 (%s, %.1f s)",
			backend, wire1, r1.Method, d1.Seconds(), wire2, 100*float64(wire2)/float64(wire1), r2.Method, d2.Seconds())
		if wire2*20 >= wire1 && backend != "btrfs-stream" {
			t.Errorf("%s node: generation 2 took %d bytes, generation 1 %d: not under 5 %%", backend, wire2, wire1)
		}
		want := map[string]string{store.BackendBtrfs: MethodFiles, store.BackendPlain: MethodFiles, "btrfs-stream": MethodBtrfs}[backend]
		if r2.Method != want {
			t.Errorf("%s node: generation 2 by %s, want %s", backend, r2.Method, want)
		}
	}

	// rsync of the trees, as a user would ship them otherwise.
	rsync := debtest.Tool(t, "rsync", "rsync")
	for _, z := range []bool{false, true} {
		dst := t.TempDir()
		args := []string{"-aHAX", "--numeric-ids", "--delete", "--stats"}
		if z {
			args = append(args, "-z")
		}
		b1 := rsyncBytes(t, rsync, append(args, g1.Path+"/", dst+"/"))
		b2 := rsyncBytes(t, rsync, append(args, g2.Path+"/", dst+"/"))
		t.Logf("BENCH rsync %v (z=%v): generation 1 %d bytes; generation 2 %d bytes = %.2f %%", args[:3], z, b1, b2, 100*float64(b2)/float64(b1))
	}
}

// imageBytes is the size of the tree's tar image, as cairn image
// --format tar writes it, and of that compressed with zstd.
func imageBytes(t *testing.T, root string) (int64, int64) {
	t.Helper()
	var raw, z countingWriter
	enc, err := zstd.NewWriter(&z, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.WriteTree(context.Background(), io.MultiWriter(&raw, enc), root, time.Unix(1<<40, 0)); err != nil {
		t.Fatal(err)
	}
	enc.Close()
	return raw.n, z.n
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var rsyncTotal = regexp.MustCompile(`Total bytes (sent|received): ([0-9,.]+)`)

// rsyncBytes runs rsync and returns the bytes it says it sent and
// received.
func rsyncBytes(t *testing.T, rsync string, args []string) int64 {
	t.Helper()
	out, err := exec.Command(rsync, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rsync %v: %v\n%s", args, err, out)
	}
	var total int64
	for _, m := range rsyncTotal.FindAllSubmatch(out, -1) {
		n, err := strconv.ParseInt(string(bytes.ReplaceAll(bytes.ReplaceAll(m[2], []byte(","), nil), []byte("."), nil)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total == 0 {
		t.Fatalf("rsync said no totals:\n%s", out)
	}
	return total
}
