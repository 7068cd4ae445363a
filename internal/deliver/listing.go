package deliver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/image"
)

// Entry is one name of a tree in a listing. Kinds: "f" regular file, "d"
// directory, "l" symbolic link, "c" and "b" devices, "p" fifo. Sockets
// are left out, as images leave them out. A second name of a file (a
// hard link) is listed as a regular file like the first: which names
// share an inode is how a store shares data (a plain store links
// identical files to one object of its cache, btrfs reflinks them), not
// part of what a generation is, whose files are read-only anyway.
type Entry struct {
	Path string `json:"p"`
	Kind string `json:"k"`
	// Mode is the permission bits with setuid, setgid and sticky.
	Mode uint32 `json:"m"`
	UID  uint32 `json:"u"`
	GID  uint32 `json:"g"`
	// Mtime is the modification time in whole seconds.
	Mtime int64 `json:"t"`
	Size  int64 `json:"s,omitempty"`
	// Hash is the SHA-256 of a regular file's content, in hex.
	Hash   string  `json:"h,omitempty"`
	Link   string  `json:"l,omitempty"`
	Major  uint32  `json:"ma,omitempty"`
	Minor  uint32  `json:"mi,omitempty"`
	Xattrs []Xattr `json:"x,omitempty"`
}

// Xattr is an extended attribute (the user, trusted and security
// namespaces, as images keep them).
type Xattr struct {
	Name  string `json:"n"`
	Value []byte `json:"v"`
}

// Listing describes a tree: one JSON object per line, in the order of
// image.Walk (sorted, parents first). Its SHA-256 is the tree digest.
type Listing struct {
	Data    []byte
	Entries []Entry
	// Bytes is the total size of the regular files' content.
	Bytes int64
}

// Digest is the tree digest: "sha256:" and the SHA-256 of the listing.
func (l *Listing) Digest() string { return digestOf(l.Data) }

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// noClamp is the walk's epoch: later than any time a tree holds, so no
// time is clamped.
var noClamp = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// MakeListing walks the tree at root and hashes every regular file. It
// reads every file once.
func MakeListing(ctx context.Context, root string) (*Listing, error) {
	l := &Listing{}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	copyBuf := make([]byte, 1<<20)
	files := map[string]Entry{}
	err := image.Walk(ctx, root, noClamp, func(e *image.Entry) error {
		le := Entry{Path: e.Path, Mode: e.Mode, UID: e.UID, GID: e.GID, Mtime: e.ModTime.Unix()}
		switch e.Kind {
		case image.Regular:
			le.Kind, le.Size = "f", e.Size
			f, err := e.Open()
			if err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.CopyBuffer(h, f, copyBuf)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", e.Path, err)
			}
			if n != e.Size {
				return fmt.Errorf("read %s: %d bytes, not %d: the tree changed while it was read", e.Path, n, e.Size)
			}
			le.Hash = hex.EncodeToString(h.Sum(nil))
			l.Bytes += n
		case image.Dir:
			le.Kind = "d"
		case image.Symlink:
			le.Kind, le.Link = "l", e.Link
		case image.HardLink:
			first, ok := files[e.Link]
			if !ok {
				return fmt.Errorf("%s: a hard link to %s, which is not a regular file", e.Path, e.Link)
			}
			first.Path = e.Path
			l.Bytes += first.Size
			l.Entries = append(l.Entries, first)
			return enc.Encode(first)
		case image.CharDevice, image.BlockDevice:
			le.Kind = map[image.Kind]string{image.CharDevice: "c", image.BlockDevice: "b"}[e.Kind]
			le.Major, le.Minor = e.DevMajor, e.DevMinor
		case image.FIFO:
			le.Kind = "p"
		case image.Socket:
			return nil
		default:
			return fmt.Errorf("%s: %s cannot be delivered", e.Path, e.Kind)
		}
		for _, x := range e.Xattrs {
			le.Xattrs = append(le.Xattrs, Xattr{Name: x.Name, Value: x.Value})
		}
		if le.Kind == "f" {
			files[le.Path] = le
		}
		l.Entries = append(l.Entries, le)
		return enc.Encode(le)
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	l.Data = buf.Bytes()
	return l, nil
}

// maxEntries bounds a listing a receiver accepts, so a hostile sender
// cannot make it allocate without end before the digest is checked.
const maxEntries = 5_000_000

// ParseListing reads a listing and checks that it describes a tree that
// can be built safely: local paths in walk order, every parent a
// directory listed before, well-formed hashes.
func ParseListing(data []byte) (*Listing, error) {
	l := &Listing{Data: data}
	kinds := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if line > maxEntries {
			return nil, fmt.Errorf("listing: more than %d entries", maxEntries)
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("listing line %d: %w", line, err)
		}
		if err := checkEntry(e, line, kinds); err != nil {
			return nil, err
		}
		kinds[e.Path] = e.Kind
		if e.Kind == "f" {
			l.Bytes += e.Size
		}
		l.Entries = append(l.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("listing: %w", err)
	}
	if len(l.Entries) == 0 || l.Entries[0].Path != "." || l.Entries[0].Kind != "d" {
		return nil, fmt.Errorf("listing: the first entry must be the root directory \".\"")
	}
	return l, nil
}

func checkEntry(e Entry, line int, kinds map[string]string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("listing line %d (%s): %s", line, e.Path, fmt.Sprintf(format, args...))
	}
	if e.Path != "." {
		if !isLocalSlash(e.Path) {
			return bad("not a path inside the tree")
		}
		if kinds[path.Dir(e.Path)] != "d" {
			return bad("its directory is not listed before it")
		}
	} else if line != 1 {
		return bad("the root listed twice")
	}
	if _, dup := kinds[e.Path]; dup {
		return bad("listed twice")
	}
	if e.Mode&^0o7777 != 0 {
		return bad("mode %o has bits other than permissions", e.Mode)
	}
	switch e.Kind {
	case "f":
		if e.Size < 0 {
			return bad("negative size")
		}
		if b, err := hex.DecodeString(e.Hash); err != nil || len(b) != sha256.Size {
			return bad("hash %q is not a SHA-256", e.Hash)
		}
	case "l":
		if e.Link == "" || strings.ContainsRune(e.Link, 0) {
			return bad("a symbolic link without a target")
		}
	case "d", "c", "b", "p":
	default:
		return bad("unknown kind %q", e.Kind)
	}
	if e.Path == "." && e.Kind != "d" {
		return bad("the root must be a directory")
	}
	return nil
}

// isLocalSlash reports whether p is a clean, relative, slash-separated
// path that stays inside the tree.
func isLocalSlash(p string) bool {
	if p == "" || p == "." || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || path.Clean(p) != p {
		return false
	}
	return p != ".." && !strings.HasPrefix(p, "../")
}
