package image

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is how an image's tar stream is compressed.
//
// Both compressors use every core and still give the same bytes on any
// number of them, because the way the input is cut up does not depend on
// the number of workers:
//
//   - gzip (pgzip) compresses 1 MiB blocks in parallel, each primed with
//     the last 32 KiB of the one before and ended by a sync flush; the
//     header has no name, mtime 0, and OS 3 (Unix), as `gzip -n` writes.
//     Level 8: on the benchmark tree it is about 4 times faster than
//     `gzip` (-6) on two cores and smaller than `gzip -9`; klauspost's
//     level 6 is 10 times faster but 0.1 % larger than gzip -6, level 9
//     half as fast again for 0.5 % (docs/benchmarks.md).
//   - zstd (klauspost/compress) compresses jobs of 4 MiB (four times its
//     1 MiB window) in parallel, each primed with the end of the one
//     before, into one frame with a checksum. The 1 MiB window keeps the
//     encoder near 40 MB a worker; 2 MiB gained 0.03 % and cost 50 %
//     more memory. It runs at least two
//     workers even with GOMAXPROCS=1, because with a single worker the
//     encoder falls back to a serial mode that cuts blocks differently.
//     Level "default" (about zstd -3).
type Compression string

const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// ParseCompression accepts gzip, zstd and none.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case Gzip, Zstd, None:
		return c, nil
	}
	return "", fmt.Errorf("compression %q: want gzip, zstd or none", s)
}

// Ext is the file name extension the compression adds to ".tar".
func (c Compression) Ext() string {
	switch c {
	case Gzip:
		return ".gz"
	case Zstd:
		return ".zst"
	}
	return ""
}

const (
	gzipLevel     = 8
	gzipBlockSize = 1 << 20
	zstdWindow    = 1 << 20
	// gzipOSUnix is the header's OS byte for Unix (RFC 1952).
	gzipOSUnix = 3
)

// compressor returns a writer compressing into w with procs workers
// (GOMAXPROCS when 0). Its output depends on the input alone.
func compressor(w io.Writer, c Compression, procs int) (io.WriteCloser, error) {
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	switch c {
	case Gzip:
		zw, err := pgzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		// Twice as many blocks in flight as workers keeps them all busy
		// while the writer goroutine fills the next block.
		if err := zw.SetConcurrency(gzipBlockSize, 2*procs); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		// pgzip writes ModTime.Unix() as is: the zero time would not be 0.
		zw.Header = pgzip.Header{ModTime: time.Unix(0, 0), OS: gzipOSUnix}
		return zw, nil
	case Zstd:
		zw, err := zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderConcurrency(max(procs, 2)),
			zstd.WithConcurrentBlocks(true),
			zstd.WithEncoderCRC(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zw, nil
	case None:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("compression %q: want gzip, zstd or none", c)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
