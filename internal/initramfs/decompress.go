package initramfs

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// maxModuleSize bounds a decompressed module (the largest, amdgpu, is
// about 30 MiB with debugging information stripped).
const maxModuleSize = 512 << 20

// decompressModule returns a module file's content: data itself for a
// plain .ko, decompressed for the suffixes kmod knows (".gz", ".xz",
// ".zst").
func decompressModule(data []byte, suffix string) ([]byte, error) {
	var r io.Reader
	switch suffix {
	case "":
		return data, nil
	case ".gz":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	case ".xz":
		zr, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		r = zr
	case ".zst":
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unknown compression %q", suffix)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("decompress %s: %w", suffix, err)
	}
	if len(out) > maxModuleSize {
		return nil, fmt.Errorf("decompress %s: more than %d bytes", suffix, maxModuleSize)
	}
	return out, nil
}
