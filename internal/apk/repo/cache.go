package repo

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// IndexCacheName is the cache file name of the index at indexURL, as apk
// names it: APKINDEX.<first 4 bytes of sha1(indexURL), hex>.tar.gz.
func IndexCacheName(indexURL string) string {
	sum := sha1.Sum([]byte(indexURL))
	return "APKINDEX." + hex.EncodeToString(sum[:4]) + ".tar.gz"
}

// PackageCacheName is the cache file name of p, as apk names it:
// <name>-<version>.<first 4 bytes of the identity, hex>.apk.
func PackageCacheName(p *apk.Package) (string, error) {
	if len(p.Checksum) < 4 {
		return "", fmt.Errorf("package %s has no identity (C:) in its index", p.NameVersion())
	}
	return p.NameVersion() + "." + hex.EncodeToString(p.Checksum[:4]) + ".apk", nil
}

// validators are the HTTP cache validators of a cached index, stored in
// a file beside it (<index>.http). URL guards against two index URLs whose
// short hashes collide.
type validators struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

func validatorsPath(cachePath string) string { return cachePath + ".http" }

// readValidators returns the stored validators for url, or empty ones.
func readValidators(cachePath, url string) validators {
	data, err := os.ReadFile(validatorsPath(cachePath))
	if err != nil {
		return validators{}
	}
	var v validators
	if json.Unmarshal(data, &v) != nil || v.URL != url {
		return validators{}
	}
	return v
}

// storeIndex replaces the cached index and its validators. The old
// validators go first, so a crash never pairs them with newer content
// (which a "not modified" answer would then keep forever).
func storeIndex(cachePath string, data []byte, v validators) error {
	if err := os.Remove(validatorsPath(cachePath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := writeFileAtomic(cachePath, data); err != nil {
		return err
	}
	if v.ETag == "" && v.LastModified == "" {
		return nil
	}
	meta, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(validatorsPath(cachePath), append(meta, '\n'))
}

// removeIndex deletes a cached index and its validators.
func removeIndex(cachePath string) {
	os.Remove(validatorsPath(cachePath))
	os.Remove(cachePath)
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return rootfs.WriteFileAt(path, data, rootfs.WriteOptions{Perm: 0o644})
}
