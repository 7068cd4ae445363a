package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// xattrPAXPrefix is how PAX archives carry extended attributes: the
// record name GNU tar (--xattrs), bsdtar and Go's archive/tar use.
const xattrPAXPrefix = "SCHILY.xattr."

// TreeStats describe the tar stream of a tree.
type TreeStats struct {
	Entries int
	// TarSize is the length of the uncompressed tar stream.
	TarSize int64
	// Skipped are the sockets left out.
	Skipped []string
}

// WriteTree writes the tree under root to w as an uncompressed POSIX
// (PAX) tar stream: the root as "./", then every entry as "./path" in
// Walk's order (directories with a trailing slash), numeric owners,
// clamped times, hard links as tar hard links to the first name, and
// extended attributes as SCHILY.xattr.* records. Regular files are read
// exactly once; one that changes size while it is read is an error.
func WriteTree(ctx context.Context, w io.Writer, root string, epoch time.Time) (TreeStats, error) {
	return writeTree(ctx, w, root, epoch, nil)
}

// writeTree is WriteTree with a check every entry must pass first.
func writeTree(ctx context.Context, w io.Writer, root string, epoch time.Time, check func(*Entry) error) (TreeStats, error) {
	var stats TreeStats
	cw := &countingWriter{w: w}
	tw := tar.NewWriter(cw)
	buf := make([]byte, 1<<20)
	err := Walk(ctx, root, epoch, func(e *Entry) error {
		if e.Kind == Socket {
			stats.Skipped = append(stats.Skipped, e.Path)
			return nil
		}
		if check != nil {
			if err := check(e); err != nil {
				return err
			}
		}
		hdr, err := tarHeader(e)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar %s: %w", e.Path, err)
		}
		stats.Entries++
		if e.Kind == Regular && e.Size > 0 {
			return copyContent(tw, e, buf)
		}
		return nil
	})
	if err != nil {
		return stats, err
	}
	if err := tw.Close(); err != nil {
		return stats, fmt.Errorf("tar: %w", err)
	}
	stats.TarSize = cw.n
	return stats, nil
}

// tarName is an entry's name in the archive.
func tarName(p string, kind Kind) string {
	if p == "." {
		return "./"
	}
	if kind == Dir {
		return "./" + p + "/"
	}
	return "./" + p
}

func tarHeader(e *Entry) (*tar.Header, error) {
	h := &tar.Header{
		Name:    tarName(e.Path, e.Kind),
		Mode:    int64(e.Mode),
		Uid:     int(e.UID),
		Gid:     int(e.GID),
		ModTime: e.ModTime,
		Format:  tar.FormatPAX,
	}
	switch e.Kind {
	case Regular:
		h.Typeflag = tar.TypeReg
		h.Size = e.Size
	case Dir:
		h.Typeflag = tar.TypeDir
	case Symlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.Link
	case HardLink:
		h.Typeflag = tar.TypeLink
		h.Linkname = tarName(e.Link, Regular)
	case CharDevice, BlockDevice:
		h.Typeflag = tar.TypeChar
		if e.Kind == BlockDevice {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(e.DevMajor), int64(e.DevMinor)
	case FIFO:
		h.Typeflag = tar.TypeFifo
	default:
		return nil, fmt.Errorf("tar %s: a %s cannot be stored in a tar archive", e.Path, e.Kind)
	}
	for _, x := range e.Xattrs {
		if strings.Contains(x.Name, "=") {
			return nil, fmt.Errorf("tar %s: extended attribute %q: a name with '=' cannot be stored in a PAX record", e.Path, x.Name)
		}
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords[xattrPAXPrefix+x.Name] = string(x.Value)
	}
	return h, nil
}

// copyContent copies e's content, exactly e.Size bytes, into tw.
func copyContent(tw io.Writer, e *Entry, buf []byte) error {
	f, err := e.Open()
	if err != nil {
		return fmt.Errorf("tar %s: %w", e.Path, err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(tw, io.LimitReader(f, e.Size), buf)
	if err != nil {
		return fmt.Errorf("tar %s: %w", e.Path, err)
	}
	if n < e.Size {
		return fmt.Errorf("tar %s: the file shrank from %d to %d bytes while it was read; images are made of a tree nothing writes to", e.Path, e.Size, n)
	}
	if m, _ := f.Read(buf[:1]); m > 0 {
		return fmt.Errorf("tar %s: the file grew past %d bytes while it was read; images are made of a tree nothing writes to", e.Path, e.Size)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
