package build

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// Lock resolves a manifest's packages afresh, without installing them,
// and returns the lock pinning them and its artifacts. What is wrong with
// the manifest against its packages comes back as a *ProblemsError, as
// Check reports it.
func Lock(ctx context.Context, req Request) (*manifest.Lock, error) {
	work, err := os.MkdirTemp("", "cairn-lock-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	b := &builder{ctx: ctx, req: req, sys: req.Manifest, work: work, manifestDir: dirOf(req.ManifestPath)}
	if b.keysDir, err = b.gatherKeys(); err != nil {
		return nil, err
	}
	res, err := b.check(nil)
	if err != nil {
		return nil, err
	}
	if res.Selected == nil {
		return nil, fmt.Errorf("%s", strings.Join(res.Unchecked, "; "))
	}
	b.db, b.spelled = res.db, res.spelled
	installed := res.Selected
	l := b.makeLock(installed)
	for _, a := range b.sys.Artifacts {
		l.Artifacts = append(l.Artifacts, manifest.LockedArtifact{Name: a.Name, URL: a.URL, SHA256: strings.ToLower(a.SHA256)})
	}
	return l, nil
}
