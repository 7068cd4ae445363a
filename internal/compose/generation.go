package compose

import (
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// WriteGeneration writes g to layout.GenerationFile in the root, as
// layout.RenderGeneration renders it, mode 0644 root:root.
func WriteGeneration(root string, g layout.Generation, mtime time.Time) error {
	data, err := layout.RenderGeneration(g, mtime)
	if err != nil {
		return err
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.writeFile(strings.TrimPrefix(layout.GenerationFile, "/"), data, 0o644, 0, 0); err != nil {
		return fmt.Errorf("generation: %w", err)
	}
	return r.finish()
}

// ManifestFile is a file of layout.ManifestDir: its path below it
// (slash-separated) and its bytes.
type ManifestFile struct {
	Path string
	Data []byte
}

// WriteManifest writes files into layout.ManifestDir in the root: the manifest's
// own files (the top one and those it includes, where they lie relative
// to the top one) and the lock. Only root reads them (directories 0700,
// files 0600): a manifest may hold password hashes.
func WriteManifest(root string, files []ManifestFile, mtime time.Time) error {
	if len(files) == 0 {
		return nil
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	dir := strings.TrimPrefix(layout.ManifestDir, "/")
	if err := r.mkdirAll(dir, 0o700, 0, 0); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	for _, f := range files {
		if !fs.ValidPath(f.Path) || f.Path == "." {
			return fmt.Errorf("manifest: %q is not a path below %s", f.Path, layout.ManifestDir)
		}
		rel := f.Path
		if parent, _ := rootfs.Split(rel); parent != "" {
			if err := r.mkdirAll(dir+"/"+parent, 0o700, 0, 0); err != nil {
				return fmt.Errorf("manifest: %w", err)
			}
		}
		if err := r.writeFile(dir+"/"+rel, f.Data, 0o600, 0, 0); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
	}
	return r.finish()
}
