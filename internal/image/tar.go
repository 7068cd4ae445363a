package image

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// Tar is the `tar` format: the root file system as one POSIX (PAX) tar
// archive (see WriteTree), compressed. GNU tar extracts it as root with
// `tar --xattrs --xattrs-include='*' -xpf IMAGE -C DIR`.
type Tar struct {
	// Compression is gzip when empty.
	Compression Compression
}

func (Tar) Name() string { return "tar" }

// Write writes the archive to out.
func (t Tar) Write(ctx context.Context, src Source, out string) (Result, error) {
	var res Result
	if err := src.check(); err != nil {
		return res, err
	}
	f, err := createOutput(out)
	if err != nil {
		return res, err
	}
	defer f.abort()
	stats, err := WriteTar(ctx, f, src, t.Compression)
	if err != nil {
		return res, fmt.Errorf("tar image %s: %w", out, err)
	}
	size, err := f.commit()
	if err != nil {
		return res, err
	}
	return Result{
		Outputs: []string{out},
		Size:    size,
		Entries: stats.Entries,
		TarSize: stats.TarSize,
		Skipped: stats.Skipped,
	}, nil
}

// WriteTar writes the tree of src to w as a tar stream compressed with c
// (gzip when empty), using every core.
func WriteTar(ctx context.Context, w io.Writer, src Source, c Compression) (TreeStats, error) {
	return writeTar(ctx, w, src, c, runtime.GOMAXPROCS(0))
}

func writeTar(ctx context.Context, w io.Writer, src Source, c Compression, procs int) (TreeStats, error) {
	if c == "" {
		c = Gzip
	}
	zw, err := compressor(w, c, procs)
	if err != nil {
		return TreeStats{}, err
	}
	stats, err := WriteTree(ctx, zw, src.Root, src.Epoch)
	if cerr := zw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", c, cerr)
	}
	return stats, err
}
