package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// maxIndexSize bounds an index archive, which is read whole before its
// signature is checked (Alpine's largest, community, has 1.7 MiB).
const maxIndexSize = 64 << 20

// readIndexFile reads an index archive from disk, refusing one larger
// than maxIndexSize before reading it.
func readIndexFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxIndexSize {
		return nil, fmt.Errorf("%s: the index archive has %d MiB, more than the %d MiB cairn accepts: refused", path, st.Size()>>20, maxIndexSize>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err == nil && len(data) > maxIndexSize {
		err = fmt.Errorf("%s: the index archive is larger than %d MiB: refused", path, maxIndexSize>>20)
	}
	return data, err
}

// Index is a repository's verified index.
type Index struct {
	Repo Repository
	// URL is where the index came from.
	URL string
	// Description is the repository's description ("v3.19.1-643-g…").
	Description string
	// Signer is the key whose signature verified, "" if the index was
	// accepted untrusted.
	Signer   string
	Packages []*apk.Package
	// Stale, when set, is why the index could not be refreshed: the
	// packages are those of the cached copy.
	Stale error
}

// IndexArchive is a repository's APKINDEX.tar.gz whose signature has been
// verified, kept whole so that a caller can stream its index.
type IndexArchive struct {
	Repo Repository
	// URL is where the index came from.
	URL string
	// Description is the repository's description ("v3.19.1-643-g…").
	Description string
	// Signer is the key whose signature verified, "" if the index was
	// accepted untrusted.
	Signer string
	// Data is the archive (apkfile.OpenIndex reads it).
	Data []byte
	// Stale, when set, is why the index could not be refreshed: Data is
	// the cached copy.
	Stale error
}

// LoadIndex loads, verifies and parses the index of repo (see
// LoadIndexArchive).
func (c *Client) LoadIndex(ctx context.Context, repo Repository) (*Index, error) {
	arc, err := c.LoadIndexArchive(ctx, repo)
	if err != nil {
		return nil, err
	}
	si, err := apkfile.ReadIndex(arc.Data, c.options())
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", arc.URL, err)
	}
	pkgs, err := apk.ParseIndex(si.Text)
	if err != nil {
		return nil, fmt.Errorf("index %s: APKINDEX %w", arc.URL, err)
	}
	return &Index{Repo: repo, URL: arc.URL, Description: arc.Description, Signer: arc.Signer, Packages: pkgs, Stale: arc.Stale}, nil
}

// LoadIndexArchive loads the index archive of repo and verifies its
// signature. A local index is read in place. A remote one is downloaded
// into the cache, or refreshed there with a conditional request; when that
// fails, a verified cached copy is used with a warning. Cached copies are
// verified on every load.
func (c *Client) LoadIndexArchive(ctx context.Context, repo Repository) (*IndexArchive, error) {
	if c.Arch == "" && !repo.isDirectIndex() {
		return nil, fmt.Errorf("repository %s: no architecture configured", repo.URL)
	}
	url := repo.IndexURL(c.Arch)
	var arc *IndexArchive
	var err error
	if repo.IsRemote() {
		arc, err = c.loadRemoteIndex(ctx, repo, url)
	} else {
		arc, err = c.loadLocalIndex(ctx, repo, url)
	}
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", url, err)
	}
	return arc, nil
}

func (c *Client) loadLocalIndex(ctx context.Context, repo Repository, url string) (*IndexArchive, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := localPath(url)
	if err != nil {
		return nil, err
	}
	data, err := readIndexFile(path)
	if err != nil {
		return nil, err
	}
	return c.verifyIndex(repo, url, data)
}

// verifyIndex checks the signature of an APKINDEX.tar.gz.
func (c *Client) verifyIndex(repo Repository, url string, data []byte) (*IndexArchive, error) {
	ir, err := apkfile.OpenIndex(data, c.options())
	if err != nil {
		return nil, err
	}
	return &IndexArchive{Repo: repo, URL: url, Description: ir.Description, Signer: ir.Signer, Data: data}, nil
}

func (c *Client) loadRemoteIndex(ctx context.Context, repo Repository, url string) (*IndexArchive, error) {
	if c.CacheDir == "" {
		return nil, errNoCacheDir
	}
	cachePath := filepath.Join(c.CacheDir, IndexCacheName(url))
	var cached *IndexArchive
	data, err := readIndexFile(cachePath)
	switch {
	case err == nil:
		cached, err = c.verifyIndex(repo, url, data)
		if err != nil {
			c.warnf("index %s: discarding the cached copy %s: %v", url, cachePath, err)
			removeIndex(cachePath)
			cached = nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read cached copy: %w", err)
	}

	if c.Offline {
		if cached == nil {
			return nil, ErrNotCached
		}
		return cached, nil
	}
	idx, err := c.refreshIndex(ctx, repo, url, cachePath, cached)
	switch {
	case err == nil:
		return idx, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case cached == nil:
		return nil, err
	}
	c.warnf("index %s: %v; using the cached copy", url, err)
	cached.Stale = err
	return cached, nil
}

// refreshIndex downloads the index, conditionally if there is a cached
// copy, and caches what it gets once it verifies.
func (c *Client) refreshIndex(ctx context.Context, repo Repository, url, cachePath string, cached *IndexArchive) (*IndexArchive, error) {
	header := http.Header{}
	if cached != nil {
		v := readValidators(cachePath, url)
		if v.ETag != "" {
			header.Set("If-None-Match", v.ETag)
		}
		if v.LastModified != "" {
			header.Set("If-Modified-Since", v.LastModified)
		}
	}
	resp, err := c.get(ctx, url, header)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		if len(header) == 0 {
			return nil, errors.New("server answered 304 Not Modified to an unconditional request")
		}
		return cached, nil
	default:
		return nil, &StatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	}

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexSize+1))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("download: the connection closed early: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("download: %w", netError(err))
	}
	if len(data) > maxIndexSize {
		return nil, fmt.Errorf("download: the index archive is larger than %d MiB: refused", maxIndexSize>>20)
	}
	idx, err := c.verifyIndex(repo, url, data)
	if err != nil {
		return nil, fmt.Errorf("downloaded index refused: %w", err)
	}
	v := validators{URL: url, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if err := storeIndex(cachePath, data, v); err != nil {
		c.warnf("index %s: not cached: %v", url, err)
	}
	return idx, nil
}
