package deliver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/store"
)

// Receiver takes deliveries into a store whose writer lock the caller
// holds.
type Receiver struct {
	Store   *store.Store
	Trusted []PublicKey
	// BtrfsProgram is btrfs-progs' btrfs, which applies send streams; ""
	// looks for "btrfs" on PATH. Without it, btrfs stores receive files.
	BtrfsProgram string
	// anyParent asks for a send stream against any generation both hold,
	// not only an ancestor: for the benchmark's comparison.
	anyParent bool
}

// Source is where a receiver reads a delivery from.
type Source interface {
	// Offer returns a reader holding the offer and then the listing.
	Offer(ctx context.Context) (io.Reader, error)
	// Data sends the request and returns a reader holding the data
	// stream.
	Data(ctx context.Context, req Request) (io.Reader, error)
}

// maxListing bounds the uncompressed listing.
const maxListing = 1 << 30

// Receive runs one delivery: it reads and checks the offer and the
// listing, asks for what the store lacks, builds the tree, checks its
// digest and seals it. Nothing in the store changes unless the whole
// tree arrived and matches what the trusted key signed: a failure leaves
// no generation, no state change and no staging tree.
func (r *Receiver) Receive(ctx context.Context, src Source) (Result, error) {
	or, err := src.Offer(ctx)
	if err != nil {
		return Result{}, err
	}
	var offer Offer
	if err := readMessage(or, &offer); err != nil {
		return Result{}, fmt.Errorf("read the offer: %w", err)
	}
	h, key, err := offer.verify(r.Trusted)
	if err != nil {
		return Result{}, err
	}
	lr := &streamReader{r: or}
	l, err := readListing(lr, h.TreeDigest)
	if err != nil {
		return Result{}, err
	}
	if err := lr.drain(); err != nil {
		return Result{}, fmt.Errorf("read the listing: %w", err)
	}
	if l.Bytes != h.Bytes || len(l.Entries) != h.Entries {
		return Result{}, fmt.Errorf("listing: %d entries of %d bytes, the header says %d of %d: %w", len(l.Entries), l.Bytes, h.Entries, h.Bytes, ErrTampered)
	}

	gens, err := r.Store.Generations()
	if err != nil {
		return Result{}, err
	}
	for _, g := range gens {
		if g.Meta.TreeDigest == h.TreeDigest {
			return Result{Generation: g.Number, SenderGeneration: h.Generation, Method: MethodNone, Already: true}, nil
		}
	}

	var staging *store.Staging
	var res Result
	if parent := r.btrfsParent(h, gens); parent != "" {
		staging, err = r.receiveBtrfs(ctx, src, parent, l)
		res.Method = MethodBtrfs
	} else {
		staging, res, err = r.receiveFiles(ctx, src, l, gens)
		res.Method = MethodFiles
	}
	if err != nil {
		return Result{}, err
	}
	n, err := r.seal(ctx, staging, h, key, l)
	if err != nil {
		return Result{}, err
	}
	res.Generation, res.SenderGeneration = n, h.Generation
	return res, nil
}

func readListing(r io.Reader, digest string) (*Listing, error) {
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxListing))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	data, err := io.ReadAll(io.LimitReader(zr, maxListing+1))
	if err != nil {
		return nil, fmt.Errorf("read the listing: %w", err)
	}
	if len(data) > maxListing {
		return nil, fmt.Errorf("the listing is larger than %d bytes", maxListing)
	}
	if got := digestOf(data); got != digest {
		return nil, fmt.Errorf("the listing's digest is %s, the signed header says %s: %w", got, digest, ErrTampered)
	}
	return ParseListing(data)
}

// btrfsParent returns the identity of a generation both sides hold that
// the sender can send an incremental stream against, or "" when the
// delivery must carry files.
//
// Only a generation the sent one descends from by snapshot is used: the
// kernel sends the difference between two subvolumes by comparing their
// trees, which is small only when they share tree blocks. Two
// generations built independently (cairn build makes each in a new
// subvolume, its files reflinked from the cache) share data but no tree
// blocks, and a stream between them re-creates every file and carries
// every small file's data: for the real Alpine system of the benchmark,
// 29 % of generation 1's bytes, against 1.6 % for files.
func (r *Receiver) btrfsParent(h Header, gens []store.Generation) string {
	if h.Btrfs == nil || r.Store.Backend() != store.BackendBtrfs {
		return ""
	}
	candidates := h.Btrfs.Ancestors
	if r.anyParent {
		candidates = h.Btrfs.Parents
	}
	if len(candidates) == 0 {
		return ""
	}
	if _, err := r.btrfsProgram(); err != nil {
		return ""
	}
	held := map[string]bool{}
	for _, g := range gens {
		if info, err := btrfs.Info(g.Path); err == nil && info.ReadOnly() && !info.ReceivedUUID.IsZero() {
			held[info.ReceivedUUID.String()] = true
		}
	}
	for _, p := range candidates {
		if held[p] {
			return p
		}
	}
	return ""
}

// receiveFiles asks for the content the store holds in none of its
// generations and builds the tree from that and its own files.
func (r *Receiver) receiveFiles(ctx context.Context, src Source, l *Listing, gens []store.Generation) (*store.Staging, Result, error) {
	var res Result
	local, err := localContent(ctx, l, gens)
	if err != nil {
		return nil, res, err
	}
	var want []string
	asked := map[string]bool{}
	for _, e := range l.Entries {
		if e.Kind != "f" || e.Size == 0 || local[e.Hash] != "" || asked[e.Hash] {
			continue
		}
		asked[e.Hash] = true
		want = append(want, e.Hash)
	}
	data, err := src.Data(ctx, Request{Method: MethodFiles, Want: want})
	if err != nil {
		return nil, res, err
	}
	zr, err := zstd.NewReader(data, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, res, err
	}
	defer zr.Close()
	staging, err := r.Store.BeginStaging()
	if err != nil {
		return nil, res, err
	}
	b := &builder{staging: staging, local: local, data: zr}
	if err := b.build(ctx, l); err != nil {
		staging.Abort()
		return nil, res, err
	}
	// The whole stream must have been used: anything more is not what
	// was asked for.
	if n, _ := io.Copy(io.Discard, zr); n != 0 {
		staging.Abort()
		return nil, res, fmt.Errorf("%d bytes of data more than asked for: %w", n, ErrTampered)
	}
	res.Files, res.Reused = b.received, b.reused
	return staging, res, nil
}

// localContent finds, in the store's generations (newest first), a file
// for every content hash of the listing it can: only files of a size
// some wanted content has are read.
func localContent(ctx context.Context, l *Listing, gens []store.Generation) (map[string]string, error) {
	need := map[string]bool{}
	sizes := map[int64]bool{}
	for _, e := range l.Entries {
		if e.Kind == "f" && e.Size > 0 {
			need[e.Hash] = true
			sizes[e.Size] = true
		}
	}
	found := map[string]string{}
	buf := make([]byte, 1<<20)
	for i := len(gens) - 1; i >= 0 && len(found) < len(need); i-- {
		err := filepath.WalkDir(gens[i].Path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // an unreadable corner: its files are sent instead
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil || !sizes[fi.Size()] {
				return nil
			}
			sum, err := hashFile(p, buf)
			if err != nil {
				return nil
			}
			if need[sum] && found[sum] == "" {
				found[sum] = p
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

func hashFile(p string, buf []byte) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// seal checks the built tree against the signed digest and seals it.
func (r *Receiver) seal(ctx context.Context, st *store.Staging, h Header, key PublicKey, want *Listing) (int, error) {
	l, err := MakeListing(ctx, st.Dir())
	if err != nil {
		st.Abort()
		return 0, err
	}
	if got := l.Digest(); got != h.TreeDigest {
		st.Abort()
		return 0, fmt.Errorf("the tree built has digest %s, the sender's is %s (first difference: %s): %w",
			got, h.TreeDigest, firstDifference(l.Data, want.Data), ErrTampered)
	}
	if h.Btrfs != nil && r.Store.Backend() == store.BackendBtrfs {
		uuid, err := parseUUID(h.Btrfs.UUID)
		if err == nil {
			err = btrfs.SetReceived(st.Dir(), uuid, h.Btrfs.CTransid)
		}
		if err != nil {
			st.Abort()
			return 0, err
		}
	}
	if r.Store.Backend() == store.BackendPlain {
		if _, err := st.ShareWithCache(); err != nil {
			st.Abort()
			return 0, err
		}
	}
	meta := h.Meta
	// The number, the parent and the time of sealing are the node's.
	meta.Generation, meta.Parent, meta.Created = 0, 0, time.Time{}
	meta.TreeDigest = h.TreeDigest
	meta.Source = fmt.Sprintf("%s generation %d, signed by key %s", h.Sender, h.Generation, key.ID)
	g, err := st.Seal(meta)
	if err != nil {
		st.Abort()
		return 0, err
	}
	return g.Number, nil
}

// firstDifference names the first entry where the built tree's listing
// differs from the sender's, for the error message.
func firstDifference(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range min(len(g), len(w)) {
		if !bytes.Equal(g[i], w[i]) {
			return fmt.Sprintf("built %s, sent %s", g[i], w[i])
		}
	}
	return fmt.Sprintf("%d entries built, %d sent", len(g)-1, len(w)-1)
}

func parseUUID(s string) (btrfs.UUID, error) {
	var u btrfs.UUID
	b, err := hex.DecodeString(string(slices.DeleteFunc([]byte(s), func(c byte) bool { return c == '-' })))
	if err != nil || len(b) != len(u) {
		return u, fmt.Errorf("bad UUID %q", s)
	}
	copy(u[:], b)
	return u, nil
}

var errNoBtrfsProgram = errors.New("btrfs-progs' btrfs is not installed")
