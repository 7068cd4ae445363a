package compose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// DefaultPersist are persisted whatever the manifest says: on a read-only
// root, OpenRC's bootmisc and nearly every service write below /var.
var DefaultPersist = manifest.AlwaysPersisted

// Persisted returns the directories a system keeps outside its
// generations, sorted (a parent before what is below it).
func Persisted(sys *manifest.System) []string {
	paths := append(slices.Clone(DefaultPersist), sys.Persist...)
	slices.Sort(paths)
	return slices.Compact(paths)
}

// writePersist records the persisted directories (layout.PersistList;
// cairn-init mounts each from its persistent home, docs/boot.md) and
// makes sure each is a directory in the tree: cairn-init mounts over it,
// and cannot create a mount point on the read-only root.
func writePersist(r *rootFS, sys *manifest.System) error {
	paths := Persisted(sys)
	for _, p := range paths {
		key := "persist"
		if i := slices.Index(sys.Persist, p); i >= 0 {
			key = fmt.Sprintf("persist[%d]", i)
		}
		if refused := layout.CheckPersist(p); refused != nil {
			return &manifest.Error{Path: key, Msg: refused.Error()}
		}
		if err := mountPoint(r, key, p); err != nil {
			return err
		}
	}
	data, err := layout.RenderPersist(paths)
	if err != nil {
		return err
	}
	return writeConfig(r, strings.TrimPrefix(layout.PersistList, "/"), data)
}

// mountPoint makes sure the directory p (absolute) exists in the tree for
// something to be mounted on it at boot, as the read-only root cannot get
// one later. A symlink on the way is refused: what is mounted there would
// land where it points, which the manifest does not say. Problems are
// *manifest.Error naming key.
func mountPoint(r *rootFS, key, p string) error {
	rel := strings.TrimPrefix(p, "/")
	link, target, err := r.symlinkOn(rel)
	if err != nil {
		return &manifest.Error{Path: key, Msg: err.Error()}
	}
	if link != "" {
		return &manifest.Error{Path: key, Msg: fmt.Sprintf("/%s is a symlink to %s in the built tree, so nothing can be mounted on %s as it is: name the directory it leads to", link, target, p)}
	}
	if err := r.mkdirAll(rel, 0o755, 0, 0); err != nil {
		return &manifest.Error{Path: key, Msg: fmt.Sprintf("mount point %s: %v", p, err)}
	}
	return nil
}

// kernelFS are file systems the kernel fills: mount points below them
// (/dev/shm, /sys/fs/cgroup) exist at boot without cairn.
var kernelFS = []string{"/dev", "/proc", "/sys"}

// writeFstabMountPoints makes the mount point of every declared fstab
// entry, and /boot in a bootable tree (the boot partition is mounted
// there).
func writeFstabMountPoints(r *rootFS, sys *manifest.System) error {
	if sys.Kernel.Package != "" {
		if err := mountPoint(r, "kernel.package", "/boot"); err != nil {
			return err
		}
	}
	for i, m := range sys.Fstab {
		mp := m.Mountpoint
		if !strings.HasPrefix(mp, "/") || mp == "/" || slices.ContainsFunc(kernelFS, func(d string) bool { return strings.HasPrefix(mp, d+"/") }) {
			continue // swap, none; or made by the kernel
		}
		if err := mountPoint(r, fmt.Sprintf("fstab[%d].mountpoint", i), mp); err != nil {
			return err
		}
	}
	return nil
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
