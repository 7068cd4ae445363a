package deliver

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

func btrfsStore(t *testing.T) *store.Store {
	return storetest.New(t, storetest.Btrfs(t, btrfstest.Options{}, store.InitOptions{}))
}

func newStore(t *testing.T, backend string) *store.Store {
	testutil.Require(t, os.Geteuid() == 0, "root (owners, device nodes)")
	if backend == store.BackendBtrfs {
		return btrfsStore(t)
	}
	return plainStore(t)
}

// TestPush delivers two generations between every pair of store kinds,
// over the protocol cairn push and cairn receive speak: the first
// carries every file, the second (a small package more) only what the
// node lacks, an incremental send stream between btrfs stores; the node
// holds the same trees, checked against the sender's digest, and a
// generation it holds is not sent again.
func TestPush(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{store.BackendPlain, store.BackendPlain},
		{store.BackendBtrfs, store.BackendBtrfs},
		{store.BackendBtrfs, store.BackendPlain},
		{store.BackendPlain, store.BackendBtrfs},
	} {
		t.Run(c.from+"-to-"+c.to, func(t *testing.T) {
			src, dst := newStore(t, c.from), newStore(t, c.to)
			key, trusted := newKey(t)
			sender := &Sender{Store: src, Key: key, Name: "builder"}
			rc := &Receiver{Store: dst, Trusted: trusted}
			// The node has a generation of its own already.
			buildOther(t, dst)
			g1 := buildGen(t, src, false, "one")
			g2 := buildGen(t, src, true, "two", g1)

			deliver := func(g store.Generation) (Result, int64) {
				t.Helper()
				p, err := sender.Prepare(context.Background(), g.Number)
				if err != nil {
					t.Fatal(err)
				}
				pushed, received, wire, perr, rerr := pipeDelivery(t, p, rc)
				if perr != nil || rerr != nil {
					t.Fatalf("push generation %d: %v; receive: %v", g.Number, perr, rerr)
				}
				if pushed != received {
					t.Errorf("the sender was told %+v, the receiver did %+v", pushed, received)
				}
				return received, wire
			}
			r1, wire1 := deliver(g1)
			got1, err := dst.Get(r1.Generation)
			if err != nil {
				t.Fatal(err)
			}
			sameTree(t, g1.Path, got1.Path)
			storetest.ReadOnly(t, got1.Path)
			if r1.Generation != 2 || r1.Method != MethodFiles || got1.Meta.Description != "one" ||
				!strings.HasPrefix(got1.Meta.TreeDigest, "sha256:") || !strings.Contains(got1.Meta.Source, "builder generation 1") {
				t.Errorf("first delivery: %+v, meta %+v", r1, got1.Meta)
			}
			t.Logf("generation 1: %d bytes on the wire (%d files sent, %d taken from the node)", wire1, r1.Files, r1.Reused)

			again, wireAgain := deliver(g1)
			if !again.Already || again.Generation != r1.Generation {
				t.Errorf("delivering generation 1 again: %+v", again)
			}

			r2, wire2 := deliver(g2)
			got2, err := dst.Get(r2.Generation)
			if err != nil {
				t.Fatal(err)
			}
			sameTree(t, g2.Path, got2.Path)
			storetest.ReadOnly(t, got2.Path)
			wantMethod := MethodFiles
			if c.from == store.BackendBtrfs && c.to == store.BackendBtrfs {
				wantMethod = MethodBtrfs
				info, err := btrfs.Info(got2.Path)
				if err != nil {
					t.Fatal(err)
				}
				src2, _ := btrfs.Info(g2.Path)
				if info.ReceivedUUID != src2.UUID {
					t.Errorf("generation 2 on the node was received from %s, the sender's is %s", info.ReceivedUUID, src2.UUID)
				}
			}
			if r2.Method != wantMethod {
				t.Errorf("second delivery by %s, want %s", r2.Method, wantMethod)
			}
			t.Logf("generation 2: %d bytes on the wire (%.2f %% of generation 1's), by %s; again: %d bytes", wire2, 100*float64(wire2)/float64(wire1), r2.Method, wireAgain)
			if wire2*20 >= wire1 {
				t.Errorf("generation 2 took %d bytes, generation 1 %d: not under 5 %%", wire2, wire1)
			}
			if wireAgain > 64<<10 {
				t.Errorf("a generation the node holds cost %d bytes", wireAgain)
			}
			if st, _ := dst.State(); st.Default != 0 || st.Trial.Generation != 0 {
				t.Errorf("a delivery changed what boots: %+v", st)
			}
		})
	}
}

// TestRefused: a generation signed by a key the node does not trust,
// with a broken signature, with a header, listing or file content
// changed after signing, is refused, and the node's store is as it was.
func TestRefused(t *testing.T) {
	for _, backend := range []string{store.BackendPlain, store.BackendBtrfs} {
		t.Run(backend, func(t *testing.T) {
			src, dst := newStore(t, store.BackendPlain), newStore(t, backend)
			key, trusted := newKey(t)
			other, _ := newKey(t)
			buildOther(t, dst)
			g := buildGen(t, src, true, "signed")
			prepare := func(k PrivateKey) *Prepared {
				p, err := (&Sender{Store: src, Key: k, Name: "builder"}).Prepare(context.Background(), g.Number)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			cases := []struct {
				name   string
				change func(p *Prepared)
				want   error
			}{
				{"untrusted key", func(p *Prepared) { *p = *prepare(other) }, ErrUntrusted},
				{"no signature", func(p *Prepared) { p.offer.Signature = nil }, ErrUntrusted},
				{"header changed", func(p *Prepared) {
					p.offer.Header = []byte(strings.Replace(string(p.offer.Header), `"signed"`, `"changed"`, 1))
				}, ErrUntrusted},
				{"listing changed", func(p *Prepared) {
					data := []byte(strings.Replace(string(p.listing.Data), `"m":420`, `"m":438`, 1))
					p.zlisting, _ = compress(data)
				}, ErrTampered},
				{"content changed", func(p *Prepared) {
					for h, rel := range p.byHash {
						if strings.HasPrefix(rel, "usr/bin/htop") {
							p.byHash[h] = "usr/lib/big/libaa.so"
						}
					}
				}, ErrTampered},
			}
			for _, c := range cases {
				t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
					p := prepare(key)
					c.change(p)
					before := snapshot(t, dst)
					_, _, _, perr, rerr := pipeDelivery(t, p, &Receiver{Store: dst, Trusted: trusted})
					if !errors.Is(rerr, c.want) {
						t.Errorf("receive: %v, want %v", rerr, c.want)
					}
					var re *ReceiverError
					if !errors.As(perr, &re) {
						t.Errorf("push: %v, want the receiver's refusal", perr)
					}
					sameSnapshot(t, before, snapshot(t, dst))
				})
			}
		})
	}
}

// TestPull: a node pulls from cairn serve's HTTP server, first the
// whole tree, then the next generation as only what it lacks; the bytes
// on the wire are counted at the connection, HTTP included.
func TestPull(t *testing.T) {
	for _, backend := range []string{store.BackendPlain, store.BackendBtrfs} {
		t.Run(backend, func(t *testing.T) { testPull(t, backend) })
	}
}

func testPull(t *testing.T, backend string) {
	src, dst := newStore(t, backend), newStore(t, backend)
	key, trusted := newKey(t)
	srv := httptest.NewServer((&Server{Sender: &Sender{Store: src, Key: key, Name: "builder"}}).Handler())
	t.Cleanup(srv.Close)
	g1 := buildGen(t, src, false, "one")
	rc := &Receiver{Store: dst, Trusted: trusted}
	var c1 Counter
	r1, err := Pull(context.Background(), rc, CountingClient(&c1), srv.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	g2 := buildGen(t, src, true, "two", g1)
	var c2 Counter
	r2, err := Pull(context.Background(), rc, CountingClient(&c2), srv.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dst.Get(r2.Generation)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, g2.Path, got.Path)
	w1, w2 := c1.Sent()+c1.Received(), c2.Sent()+c2.Received()
	t.Logf("pull 1: generation %d, %d bytes; pull 2: generation %d, %d bytes (%.2f %%), by %s", r1.Generation, w1, r2.Generation, w2, 100*float64(w2)/float64(w1), r2.Method)
	if r1.Generation != 1 || r2.Generation != 2 || w2*20 >= w1 {
		t.Errorf("pulls: %+v %+v, %d and %d bytes", r1, r2, w1, w2)
	}

	// A node trusting another key takes nothing.
	_, others := newKey(t)
	dst2 := newStore(t, backend)
	before := snapshot(t, dst2)
	_, err = Pull(context.Background(), &Receiver{Store: dst2, Trusted: others}, CountingClient(new(Counter)), srv.URL, 0)
	if !errors.Is(err, ErrUntrusted) {
		t.Errorf("pull with another key trusted: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, dst2))
	if _, err := Pull(context.Background(), rc, CountingClient(new(Counter)), srv.URL, 7); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("pull of a generation the server lacks: %v", err)
	}
}

func TestLoadTrusted(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadTrusted(dir); err == nil || !strings.Contains(err.Error(), "no *.pub") {
		t.Errorf("empty directory: %v", err)
	}
	k, err := GenerateKey(filepath.Join(dir, "a.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKey(filepath.Join(dir, "a.key")); err == nil {
		t.Error("GenerateKey overwrote a key")
	}
	keys, err := LoadTrusted(dir)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
		t.Errorf("LoadTrusted: %v %v", keys, err)
	}
	if _, err := LoadPrivateKey(filepath.Join(dir, "a.key.pub")); err == nil {
		t.Error("a public key loaded as a private key")
	}
	l, err := LoadPrivateKey(filepath.Join(dir, "a.key"))
	if err != nil || l.ID != k.ID {
		t.Errorf("LoadPrivateKey: %v %v", l.ID, err)
	}
}
