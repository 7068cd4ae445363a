package deliver

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/store"
)

// Sender offers a store's generations, signed with Key.
type Sender struct {
	Store *store.Store
	Key   PrivateKey
	// Name is the sending host's name, recorded in headers.
	Name string
}

// Prepared is a generation ready to be offered: listed, hashed, signed.
// It is immutable, so one Prepared serves any number of receivers.
type Prepared struct {
	gen     store.Generation
	header  Header
	offer   Offer
	listing *Listing
	// zlisting is the listing compressed as it goes on the wire.
	zlisting []byte
	// byHash maps a content hash to a path in the tree holding it.
	byHash map[string]string
	// parents maps a btrfs identity to the generation's path.
	parents map[string]string
}

// Prepare lists generation n (reading every file once), and signs its
// header.
func (s *Sender) Prepare(ctx context.Context, n int) (*Prepared, error) {
	gen, err := s.Store.Get(n)
	if err != nil {
		return nil, err
	}
	l, err := MakeListing(ctx, gen.Path)
	if err != nil {
		return nil, err
	}
	meta := gen.Meta
	meta.TreeDigest = ""
	h := Header{
		Format: protocolFormat, TreeDigest: l.Digest(), Entries: len(l.Entries), Bytes: l.Bytes,
		Sender: s.Name, Generation: n, Meta: meta,
	}
	p := &Prepared{gen: gen, listing: l, byHash: map[string]string{}, parents: map[string]string{}}
	for _, e := range l.Entries {
		if e.Kind == "f" {
			if _, ok := p.byHash[e.Hash]; !ok {
				p.byHash[e.Hash] = e.Path
			}
		}
	}
	if s.Store.Backend() == store.BackendBtrfs {
		if h.Btrfs, err = p.btrfsSource(s.Store); err != nil {
			return nil, err
		}
	}
	p.header = h
	if p.offer, err = signOffer(h, s.Key); err != nil {
		return nil, err
	}
	if p.zlisting, err = compress(l.Data); err != nil {
		return nil, err
	}
	return p, nil
}

// btrfsSource identifies the generation's subvolume and the others it
// can be sent against.
func (p *Prepared) btrfsSource(s *store.Store) (*BtrfsSource, error) {
	info, err := btrfs.Info(p.gen.Path)
	if err != nil {
		return nil, err
	}
	src := &BtrfsSource{UUID: identity(info), CTransid: info.CTransid}
	if !info.ReceivedUUID.IsZero() {
		src.CTransid = info.STransid
	}
	gens, err := s.Generations()
	if err != nil {
		return nil, err
	}
	byUUID := map[btrfs.UUID]btrfs.SubvolumeInfo{}
	for i := len(gens) - 1; i >= 0; i-- {
		g := gens[i]
		if g.Number == p.gen.Number {
			continue
		}
		gi, err := btrfs.Info(g.Path)
		if err != nil || !gi.ReadOnly() {
			continue
		}
		id := identity(gi)
		src.Parents = append(src.Parents, id)
		p.parents[id] = g.Path
		byUUID[gi.UUID] = gi
	}
	// The generations this one was snapshotted from, and theirs.
	for u := info.ParentUUID; !u.IsZero(); {
		gi, ok := byUUID[u]
		if !ok {
			break
		}
		src.Ancestors = append(src.Ancestors, identity(gi))
		delete(byUUID, u) // no loop, whatever the UUIDs say
		u = gi.ParentUUID
	}
	return src, nil
}

// identity is how another file system knows a subvolume: the UUID of
// the subvolume it was received from, else its own (what btrfs send
// puts in a stream).
func identity(info btrfs.SubvolumeInfo) string {
	if !info.ReceivedUUID.IsZero() {
		return info.ReceivedUUID.String()
	}
	return info.UUID.String()
}

// Header is what the offer says.
func (p *Prepared) Header() Header { return p.header }

// WriteOffer writes the offer and the listing.
func (p *Prepared) WriteOffer(w io.Writer) error {
	if err := writeMessage(w, p.offer); err != nil {
		return err
	}
	sw := newStreamWriter(w)
	if _, err := sw.Write(p.zlisting); err != nil {
		return err
	}
	return sw.Close()
}

// WriteData writes what the request asks for as one compressed stream.
func (p *Prepared) WriteData(ctx context.Context, w io.Writer, req Request) error {
	sw := newStreamWriter(w)
	zw, err := zstd.NewWriter(sw, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	switch req.Method {
	case MethodFiles:
		err = p.writeFiles(ctx, zw, req.Want)
	case MethodBtrfs:
		parent, ok := p.parents[req.Parent]
		if !ok {
			err = fmt.Errorf("the receiver asked for a stream against %s, which this store does not hold", req.Parent)
			break
		}
		err = btrfs.Send(ctx, p.gen.Path, parent, zw)
	case MethodNone:
	default:
		err = fmt.Errorf("the receiver asked for method %q", req.Method)
	}
	if err != nil {
		zw.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return sw.Close()
}

func (p *Prepared) writeFiles(ctx context.Context, w io.Writer, want []string) error {
	sizes := map[string]int64{}
	for _, e := range p.listing.Entries {
		if e.Kind == "f" {
			sizes[e.Hash] = e.Size
		}
	}
	buf := make([]byte, 1<<20)
	for _, h := range want {
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, ok := p.byHash[h]
		if !ok {
			return fmt.Errorf("the receiver asked for content %s, which generation %d does not hold", h, p.gen.Number)
		}
		f, err := os.Open(filepath.Join(p.gen.Path, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(w, io.LimitReader(f, sizes[h]), buf)
		f.Close()
		if err != nil {
			return fmt.Errorf("send %s: %w", rel, err)
		}
		if n != sizes[h] {
			return fmt.Errorf("send %s: %d bytes, not %d: the generation changed since it was listed", rel, n, sizes[h])
		}
	}
	return nil
}

func compress(data []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return enc.EncodeAll(data, nil), nil
}
