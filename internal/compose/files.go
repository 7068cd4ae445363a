package compose

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/unixmode"
)

// Files copies f.Skeleton (relative to manifestDir) into the root, then
// writes the inline files, which therefore win over the skeleton.
//
// The skeleton's directories, regular files and symlinks are copied with
// their permission bits (set-id and sticky bits included) and symlink
// targets as they are, all owned by root:root whoever owns them in the
// skeleton (a git checkout's owner says nothing about the system); use
// inline files, or a setup script, for files owned by someone else.
// Directories that already exist in the root keep their mode and owner
// (a skeleton's tmp/ must not loosen /tmp). Hard links are copied as
// separate files; devices, sockets and FIFOs are refused.
//
// Inline files get their mode (octal, 0644 by default) and owner
// ("user:group", "user" for the user's primary group, or numeric ids;
// root:root by default), names resolved in the root's /etc/passwd and
// /etc/group. Missing parent directories are created 0755 root:root.
func Files(root, manifestDir string, f manifest.Files, mtime time.Time) error {
	if f.Skeleton == "" && len(f.Inline) == 0 {
		return nil
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	if f.Skeleton != "" {
		src, err := manifest.ResolveLocal(manifestDir, f.Skeleton)
		if err != nil {
			return fmt.Errorf("files.skeleton: %w", err)
		}
		if err := copySkeleton(r, src); err != nil {
			return fmt.Errorf("files.skeleton: %w", err)
		}
	}
	if len(f.Inline) > 0 {
		ids, err := loadOwners(r)
		if err != nil {
			return fmt.Errorf("files.inline: %w", err)
		}
		for i, in := range f.Inline {
			if err := writeInline(r, ids, in); err != nil {
				return fmt.Errorf("files.inline[%d] (%s): %w", i, in.Path, err)
			}
		}
	}
	return r.finish()
}

func copySkeleton(r *rootFS, src string) error {
	dir, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", src)
	}
	// WalkDir visits entries in lexical order and does not follow symlinks.
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		name, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(name)
		info, err := e.Info()
		if err != nil {
			return err
		}
		if err := copyEntry(r, p, rel, info); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		return nil
	})
}

func copyEntry(r *rootFS, src, rel string, info fs.FileInfo) error {
	mode := unixmode.Perm(info.Mode())
	switch t := info.Mode().Type(); {
	case t == fs.ModeDir:
		return r.mkdirAll(rel, mode, 0, 0)
	case t == fs.ModeSymlink:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return r.symlink(rel, target, 0, 0)
	case t.IsRegular():
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		return r.writeFrom(rel, f, mode, 0, 0)
	default:
		return fmt.Errorf("is a %s; a skeleton holds only directories, files and symlinks", typeName(t))
	}
}

func typeName(t fs.FileMode) string {
	switch {
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "block device"
	case t&fs.ModeNamedPipe != 0:
		return "FIFO"
	case t&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

func writeInline(r *rootFS, ids *owners, in manifest.InlineFile) error {
	rel, err := rootRel(in.Path)
	if err != nil {
		return fmt.Errorf("path: %w", err)
	}
	if rel == "" {
		return fmt.Errorf("path: %q is the root directory, not a file", in.Path)
	}
	perm, err := parseMode(in.Mode, 0o644)
	if err != nil {
		return fmt.Errorf("mode: %w", err)
	}
	uid, gid, err := ids.resolve(in.Owner)
	if err != nil {
		return err
	}
	return r.writeFile(rel, []byte(in.Content), perm, uid, gid)
}

// parseMode reads an octal mode ("0640", "640", "0o640"); def when empty.
func parseMode(s string, def uint32) (uint32, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O"), 8, 32)
	if err != nil || v > 0o7777 {
		return 0, fmt.Errorf("%q is not an octal mode (0644, 0755)", s)
	}
	return uint32(v), nil
}
