// Package imagetest makes trees for the image tests and benchmarks: real
// Alpine packages extracted into a root, and generated files of mixed
// compressibility. It is test support, not part of cairn.
package imagetest

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/unixmode"
)

// ExtractAPK extracts the files of an Alpine package (v2: concatenated
// gzip streams of tar segments) into root, the way an installer lays
// them out: modes, times and, when run as root, owners from the package.
// The package's metadata (.PKGINFO, .SIGN.*, scripts) is skipped.
func ExtractAPK(apk, root string) error {
	f, err := os.Open(apk)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f) // multistream: all segments in turn
	if err != nil {
		return fmt.Errorf("%s: %w", apk, err)
	}
	tr := tar.NewReader(zr)
	asRoot := os.Geteuid() == 0
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirs []dirTime
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", apk, err)
		}
		name := filepath.Clean(hdr.Name)
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") {
			continue
		}
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			dirs = append(dirs, dirTime{p, hdr.ModTime})
		case tar.TypeReg:
			out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", apk, name, err)
			}
		case tar.TypeSymlink:
			os.Remove(p)
			if err := os.Symlink(hdr.Linkname, p); err != nil {
				return err
			}
		case tar.TypeLink:
			os.Remove(p)
			if err := os.Link(filepath.Join(root, filepath.Clean(hdr.Linkname)), p); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		if asRoot {
			if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
				return err
			}
		}
		if hdr.Typeflag != tar.TypeSymlink {
			if err := os.Chmod(p, unixmode.FileMode(uint32(hdr.Mode))); err != nil {
				return err
			}
			if err := os.Chtimes(p, hdr.ModTime, hdr.ModTime); err != nil {
				return err
			}
		}
	}
	// Directories last: their entries changed their times.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(dirs[i].path, dirs[i].t, dirs[i].t); err != nil {
			return err
		}
	}
	return nil
}

// GenerateStats describe a generated tree.
type GenerateStats struct {
	Files int
	Bytes int64
}

// Generate writes about totalBytes of files under root/usr/share/generated,
// the same bytes for the same arguments: sizes spread from 100 bytes to
// 512 KiB and a few of 4 MiB (most files small, most bytes in big ones,
// as in a root file system), about 60 % of the bytes binary-like (compressing about 2:1),
// 25 % text (about 4:1) and 15 % random (incompressible, like compressed
// assets), 25 files to a directory, times at mtime.
func Generate(root string, totalBytes int64, mtime time.Time) (GenerateStats, error) {
	var st GenerateStats
	rng := xorshift(0x9e3779b97f4a7c15)
	base := filepath.Join(root, "usr", "share", "generated")
	buf := make([]byte, 0, 4<<20)
	for st.Bytes < totalBytes {
		dir := filepath.Join(base, fmt.Sprintf("d%03d", st.Files/25))
		if st.Files%25 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return st, err
			}
		}
		// Log-uniform sizes between 100 B and 512 KiB, and one file in
		// 200 of 4 MiB.
		exp := float64(rng.next()%1000) / 1000
		size := int(100 * math.Pow(5243, exp))
		if rng.next()%200 == 0 {
			size = 4 << 20
		}
		buf = buf[:0]
		kind := rng.next() % 100
		switch {
		case kind < 60:
			buf = binaryLike(buf, size, &rng)
		case kind < 85:
			buf = textLike(buf, size, &rng)
		default:
			buf = randomBytes(buf, size, &rng)
		}
		p := filepath.Join(dir, fmt.Sprintf("f%05d", st.Files))
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return st, err
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			return st, err
		}
		st.Files++
		st.Bytes += int64(len(buf))
	}
	return st, nil
}

type xorshift uint64

func (x *xorshift) next() uint64 {
	v := uint64(*x)
	v ^= v << 13
	v ^= v >> 7
	v ^= v << 17
	*x = xorshift(v)
	return v
}

func randomBytes(buf []byte, n int, rng *xorshift) []byte {
	for len(buf) < n {
		v := rng.next()
		for i := 0; i < 8 && len(buf) < n; i++ {
			buf = append(buf, byte(v>>(8*i)))
		}
	}
	return buf
}

var words = strings.Fields(`the of and to in is it that for on with as was by at be this from or
	an are not have but which one all were when we there can been has if more will would
	alpine cairn generation kernel initramfs package service openrc busybox musl libc
	config error warning return struct const static void int char unsigned size_t`)

func textLike(buf []byte, n int, rng *xorshift) []byte {
	col := 0
	for len(buf) < n {
		w := words[rng.next()%uint64(len(words))]
		buf = append(buf, w...)
		col += len(w) + 1
		if col > 72 {
			buf = append(buf, '\n')
			col = 0
		} else {
			buf = append(buf, ' ')
		}
	}
	return buf[:n]
}

// binaryLike mimics machine code and data: runs of a few distinct byte
// values, repeated short sequences, zero padding and random stretches.
func binaryLike(buf []byte, n int, rng *xorshift) []byte {
	for len(buf) < n {
		run := int(rng.next()%512) + 16
		switch rng.next() % 8 {
		case 0:
			buf = append(buf, make([]byte, run)...)
		case 1, 2:
			start := len(buf) - int(rng.next()%4096) - 1
			if start < 0 {
				buf = randomBytes(buf, len(buf)+run, rng)
				continue
			}
			for i := 0; i < run; i++ {
				buf = append(buf, buf[start+i])
			}
		case 3:
			buf = randomBytes(buf, len(buf)+run/2, rng)
		default:
			// Opcode-like bytes: a small skewed alphabet.
			for i := 0; i < run; i++ {
				v := rng.next()
				buf = append(buf, byte(v%16)*byte(v>>8%5+1))
			}
		}
	}
	return buf[:n]
}
