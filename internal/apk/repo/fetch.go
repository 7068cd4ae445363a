package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cairnlinux/cairn/internal/apk"
)

// FetchRequest asks for one package from the repository whose index
// listed it.
type FetchRequest struct {
	Repo Repository
	Pkg  *apk.Package
	// ReaderVerifies says the caller reads the whole file through
	// apkfile, which checks its signature, identity and datahash as it
	// goes (the installer does): a local file is then only checked for
	// its size here, instead of being read twice.
	ReaderVerifies bool
}

// fetchJob is one distinct package file to provide.
type fetchJob struct {
	req   FetchRequest
	local string // the file in a local repository, or ""
	url   string // the remote package URL
	dest  string // its path in the cache
	// credited is how many of the package's bytes the progress display
	// counts as done.
	credited int64
	path     string
	err      error
}

// Fetch provides verified package files, downloading remote ones into the
// cache (several at once) and checking local ones in place. It returns one
// path per request, in order. After the first failure no new downloads
// start; the error lists every package that failed.
func (c *Client) Fetch(ctx context.Context, reqs []FetchRequest) ([]string, error) {
	var jobs []*fetchJob
	slot := make([]*fetchJob, len(reqs))
	byKey := map[string]*fetchJob{}
	var totalBytes int64
	for i, req := range reqs {
		j, err := c.plan(req)
		if err != nil {
			return nil, err
		}
		key := j.local + "\x00" + j.dest
		if prev, ok := byKey[key]; ok {
			prev.req.ReaderVerifies = prev.req.ReaderVerifies && req.ReaderVerifies
			slot[i] = prev
			continue
		}
		byKey[key] = j
		slot[i] = j
		jobs = append(jobs, j)
		totalBytes += req.Pkg.Size
	}

	prog := newProgress(c.Progress, len(jobs), totalBytes)
	defer prog.close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan *fetchJob)
	var wg sync.WaitGroup
	for range min(c.parallel(), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				j.path, j.err = c.fetchOne(runCtx, j, prog)
				if j.err != nil {
					cancel()
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-runCtx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var errs []error
	for _, j := range jobs {
		// Downloads stopped because another failed end with the
		// cancellation, which is no news to the user.
		if j.err != nil && !errors.Is(j.err, context.Canceled) {
			errs = append(errs, j.err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	paths := make([]string, len(reqs))
	for i, j := range slot {
		paths[i] = j.path
	}
	return paths, nil
}

// FetchPackage provides one verified package file, as Fetch does.
func (c *Client) FetchPackage(ctx context.Context, req FetchRequest) (string, error) {
	paths, err := c.Fetch(ctx, []FetchRequest{req})
	if err != nil {
		return "", err
	}
	return paths[0], nil
}

func (c *Client) parallel() int {
	if c.Parallel > 0 {
		return c.Parallel
	}
	return DefaultParallel
}

func pkgError(req FetchRequest, err error) error {
	return &PackageError{Package: req.Pkg.NameVersion(), Repo: req.Repo.URL, Err: err}
}

// plan works out where a package comes from and where it goes.
func (c *Client) plan(req FetchRequest) (*fetchJob, error) {
	if req.Pkg == nil {
		return nil, fmt.Errorf("fetch from %s: no package given", req.Repo.URL)
	}
	if name := req.Pkg.FileName(); strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") {
		return nil, pkgError(req, fmt.Errorf("unsafe file name %q", name))
	}
	if req.Pkg.Arch == "" && c.Arch == "" && !req.Repo.isDirectIndex() {
		return nil, pkgError(req, errors.New("no architecture: the index gives none and none is configured"))
	}
	loc := req.Repo.PackageURL(req.Pkg, c.Arch)
	j := &fetchJob{req: req}
	if !req.Repo.IsRemote() {
		path, err := localPath(loc)
		if err != nil {
			return nil, pkgError(req, err)
		}
		j.local = path
		return j, nil
	}
	if c.CacheDir == "" {
		return nil, pkgError(req, errNoCacheDir)
	}
	name, err := PackageCacheName(req.Pkg)
	if err != nil {
		return nil, pkgError(req, err)
	}
	j.url = loc
	j.dest = filepath.Join(c.CacheDir, name)
	return j, nil
}

// fetchOne provides the file of one job.
func (c *Client) fetchOne(ctx context.Context, j *fetchJob, prog *progress) (string, error) {
	pkg := j.req.Pkg
	if j.local != "" {
		var err error
		if j.req.ReaderVerifies {
			// The reader checks all of it: only what is free here.
			err = checkSize(j.local, pkg)
		} else {
			err = verifyFile(ctx, j.local, pkg, c.options(), true)
		}
		if err != nil {
			return "", c.fetchError(ctx, j, err)
		}
		j.credit(prog, pkg.Size)
		prog.packageDone()
		return j.local, nil
	}

	// A cached file is checked cheaply: its size, signature and identity.
	// Its data were verified when it was downloaded.
	switch _, err := os.Stat(j.dest); {
	case err == nil:
		err := verifyFile(ctx, j.dest, pkg, c.options(), false)
		if err == nil {
			j.credit(prog, pkg.Size)
			prog.packageDone()
			return j.dest, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		c.warnf("%s: discarding the damaged cached copy %s: %v", pkg.NameVersion(), j.dest, err)
		if err := os.Remove(j.dest); err != nil {
			return "", pkgError(j.req, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", pkgError(j.req, err)
	}
	if c.Offline {
		return "", pkgError(j.req, ErrNotCached)
	}
	if err := os.MkdirAll(c.CacheDir, 0o755); err != nil {
		return "", pkgError(j.req, err)
	}
	if err := c.download(ctx, j, prog); err != nil {
		return "", c.fetchError(ctx, j, err)
	}
	prog.packageDone()
	return j.dest, nil
}

// fetchError names the package, unless the caller gave up.
func (c *Client) fetchError(ctx context.Context, j *fetchJob, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return pkgError(j.req, err)
}

// credit sets how many bytes of the job the progress display counts.
func (j *fetchJob) credit(prog *progress, n int64) {
	prog.addBytes(n - j.credited)
	j.credited = n
}
