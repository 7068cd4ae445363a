package compose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// PersistPath is where System records the directories that live outside
// the generation, one absolute path a line; cairn-init mounts each from
// its persistent home (docs/boot.md).
const PersistPath = "/etc/cairn/persist"

// DefaultPersist are persisted whatever the manifest says: on a read-only
// root, OpenRC's bootmisc and nearly every service write below /var.
var DefaultPersist = []string{"/var"}

// Persisted returns the directories a system keeps outside its
// generations, sorted (a parent before what is below it).
func Persisted(sys *manifest.System) []string {
	paths := append(slices.Clone(DefaultPersist), sys.Persist...)
	slices.Sort(paths)
	return slices.Compact(paths)
}

// writePersist records the persisted directories and makes sure each is
// a directory in the tree: cairn-init mounts over it, and cannot create a
// mount point on the read-only root.
func writePersist(r *rootFS, sys *manifest.System) error {
	paths := Persisted(sys)
	var b strings.Builder
	b.WriteString("# Directories kept outside the generation (manifest: persist).\n")
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\n\r") {
			return fmt.Errorf("persist: %q is not an absolute path", p)
		}
		if err := r.mkdirAll(strings.TrimPrefix(p, "/"), 0o755, 0, 0); err != nil {
			return fmt.Errorf("persist %s: %w", p, err)
		}
		b.WriteString(p + "\n")
	}
	return writeConfig(r, PersistPath[1:], []byte(b.String()))
}

// mountPoints are the directories a booted generation needs to mount on
// (cairn-init and OpenRC mount kernel and memory file systems there); a
// read-only root cannot get them later. Alpine's base layout has them;
// a minimal system may not.
var mountPoints = []struct {
	path string
	mode uint32
}{{"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"run", 0o755}, {"tmp", 0o1777}}

func writeMountPoints(r *rootFS, _ *manifest.System) error {
	for _, m := range mountPoints {
		if err := r.mkdirAll(m.path, m.mode, 0, 0); err != nil {
			return fmt.Errorf("mount point /%s: %w", m.path, err)
		}
	}
	return nil
}
