// Package state is what a node does with its writable state between
// generations: the declared files under /var and the persist paths
// (managed ones put in place at every boot, seeds written once: Apply),
// and what differs from the booted generation (Drift). docs/state.md
// tells the whole story.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/rootfs"
	"github.com/cairnlinux/cairn/internal/unixmode"
)

// Where a generation records its declared files under persistent paths:
// the list, and a copy of each file under DeclaredDir at its path (the
// file's own path is hidden at boot by the persistent directory mounted
// over it).
const (
	DeclaredList = layout.DeclaredFile
	DeclaredDir  = layout.DeclaredDir
)

// States of a declared file.
const (
	Managed = "managed"
	Seed    = "seed"
)

// Entry is one declared file under a persistent path.
type Entry struct {
	Path  string `json:"path"`
	State string `json:"state"`
	// From says where the manifest declares it: files.inline[2],
	// files.skeleton, artifacts[0].
	From string `json:"from"`
}

// Declared is a generation's DeclaredList.
type Declared struct {
	Files []Entry `json:"files"`
}

// Find returns the entry of path p.
func (d Declared) Find(p string) (Entry, bool) {
	for _, e := range d.Files {
		if e.Path == p {
			return e, true
		}
	}
	return Entry{}, false
}

// ReadDeclared reads the declared files of the tree at root; a tree
// without the list declares nothing.
func ReadDeclared(root string) (Declared, error) {
	var d Declared
	data, err := os.ReadFile(filepath.Join(root, DeclaredList))
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("%s: %w", DeclaredList, err)
	}
	for _, e := range d.Files {
		if !validPath(e.Path) || (e.State != Managed && e.State != Seed) {
			return d, fmt.Errorf("%s: bad entry %+v", DeclaredList, e)
		}
	}
	return d, nil
}

func validPath(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && p != "/"
}

// WriteDeclared records entries in the tree at root: each file (a
// regular file or a symbolic link the tree has at its path) is copied
// under DeclaredDir, and the list written, with times set to mtime.
// Entries whose file the tree does not have (a setup script removed it)
// are left out.
func WriteDeclared(root string, entries []Entry, mtime time.Time) error {
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	entries = slices.CompactFunc(entries, func(a, b Entry) bool { return a.Path == b.Path })
	var kept []Entry
	for _, e := range entries {
		src := filepath.Join(root, e.Path)
		fi, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		dst := filepath.Join(root, DeclaredDir, e.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := CopyFile(src, dst); err != nil {
			return fmt.Errorf("declared file %s: %w", e.Path, err)
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		return nil
	}
	data, err := json.MarshalIndent(Declared{Files: kept}, "", "  ")
	if err != nil {
		return err
	}
	list := filepath.Join(root, DeclaredList)
	if err := os.MkdirAll(filepath.Dir(list), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(list, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Chtimes(list, mtime, mtime)
}

// CopyFile copies the regular file or symbolic link src to dst, replacing
// dst atomically (a temporary file renamed), with src's mode, owner and
// modification time.
func CopyFile(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), ".cairn-"+filepath.Base(dst)+".tmp")
	os.Remove(tmp)
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, tmp); err != nil {
			return err
		}
	} else {
		if err := rootfs.CopyToNew(src, tmp, true); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(tmp, int(st.Uid), int(st.Gid)); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if err := os.Chmod(tmp, fi.Mode().Perm()|fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Same reports whether a and b are the same file as far as a node's
// state goes: both absent, or the same type, permissions, owner and
// content (a symbolic link's target). Times do not count.
func Same(a, b string) (bool, error) {
	why, err := Differs(a, b)
	return why == "", err
}

// Differs says how the file b differs from a ("" when it does not):
// "missing", "added", "type", "content", "mode 0644 -> 0600", "owner
// 0:0 -> 1000:1000".
func Differs(a, b string) (string, error) {
	fa, errA := os.Lstat(a)
	fb, errB := os.Lstat(b)
	switch {
	case errA != nil && !errors.Is(errA, fs.ErrNotExist):
		return "", errA
	case errB != nil && !errors.Is(errB, fs.ErrNotExist):
		return "", errB
	case errA != nil && errB != nil:
		return "", nil
	case errB != nil:
		return "missing", nil
	case errA != nil:
		return "added", nil
	case fa.Mode().Type() != fb.Mode().Type():
		return "type", nil
	}
	var whys []string
	if fa.Mode()&fs.ModeSymlink != 0 {
		ta, err1 := os.Readlink(a)
		tb, err2 := os.Readlink(b)
		if err := errors.Join(err1, err2); err != nil {
			return "", err
		}
		if ta != tb {
			whys = append(whys, "target "+ta+" -> "+tb)
		}
	} else if fa.Mode().Perm() != fb.Mode().Perm() || fa.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != fb.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) {
		whys = append(whys, fmt.Sprintf("mode %04o -> %04o", unixmode.Perm(fa.Mode()), unixmode.Perm(fb.Mode())))
	}
	sa, okA := fa.Sys().(*syscall.Stat_t)
	sb, okB := fb.Sys().(*syscall.Stat_t)
	if okA && okB && (sa.Uid != sb.Uid || sa.Gid != sb.Gid) {
		whys = append(whys, fmt.Sprintf("owner %d:%d -> %d:%d", sa.Uid, sa.Gid, sb.Uid, sb.Gid))
	}
	if fa.Mode().IsRegular() {
		same, err := sameContent(a, b, fa.Size(), fb.Size())
		if err != nil {
			return "", err
		}
		if !same {
			whys = append([]string{"content"}, whys...)
		}
	}
	return strings.Join(whys, ", "), nil
}

func sameContent(a, b string, sizeA, sizeB int64) (bool, error) {
	if sizeA != sizeB {
		return false, nil
	}
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	bufA, bufB := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, errA := io.ReadFull(fa, bufA)
		nb, errB := io.ReadFull(fb, bufB)
		if na != nb || string(bufA[:na]) != string(bufB[:nb]) {
			return false, nil
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, errB
		}
	}
}
