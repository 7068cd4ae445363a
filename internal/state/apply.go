package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// Where a node keeps its record of the managed files (/var always
// persists): which paths a generation has put in place, what was there
// before the first one did, and every version a boot replaced that no
// generation had put there (a hand edit).
const (
	RecordFile  = layout.ManagedRecord
	ReplacedDir = layout.ReplacedDir
)

// record is RecordFile: per managed path, what was there before cairn
// first managed it.
type record struct {
	Paths map[string]original `json:"paths"`
}

type original struct {
	// Absent: there was no file; otherwise Saved names its copy under
	// ReplacedDir.
	Absent bool   `json:"absent,omitempty"`
	Saved  string `json:"saved,omitempty"`
}

// Change is one thing Apply did.
type Change struct {
	Path string `json:"path"`
	// Action: "placed" (a managed file put in place), "seeded" (a seed
	// written), "restored" (a file no generation manages any more given
	// back what it had before), "removed" (likewise, it had nothing).
	Action string `json:"action"`
	// Kept names the copy of what was replaced, under ReplacedDir, when
	// it was not what a generation had put there.
	Kept string `json:"kept,omitempty"`
}

func (c Change) String() string {
	s := c.Action + " " + c.Path
	if c.Kept != "" {
		s += " (the one it replaced kept as " + c.Kept + ")"
	}
	return s
}

// Apply brings the declared files of the generation mounted at root (its
// persistent directories mounted) into the persistent state: a managed
// file is put in place when it differs, a seed is written when absent,
// and a file that an earlier generation managed and this one does not
// declare gets back what it had before cairn managed it. What a managed
// file replaces is kept under ReplacedDir unless it is the version a
// generation put there (that one comes back by booting the generation).
// now names the copies. Problems with single files are collected; the
// rest is still done.
func Apply(root string, now time.Time) ([]Change, error) {
	d, err := ReadDeclared(root)
	if err != nil {
		return nil, err
	}
	rec, err := readRecord(root)
	if err != nil {
		return nil, err
	}
	var changes []Change
	var errs []error
	managed := map[string]bool{}
	stamp := now.UTC().Format("20060102T150405Z")
	for _, e := range d.Files {
		src := filepath.Join(root, DeclaredDir, e.Path)
		dst := filepath.Join(root, e.Path)
		_, lerr := os.Lstat(dst)
		exists := lerr == nil
		if e.State == Seed {
			if exists {
				continue
			}
			if err := place(root, src, dst); err != nil {
				errs = append(errs, fmt.Errorf("seed %s: %w", e.Path, err))
				continue
			}
			changes = append(changes, Change{Path: e.Path, Action: "seeded"})
			continue
		}
		managed[e.Path] = true
		_, known := rec.Paths[e.Path]
		same := false
		if exists {
			if same, err = Same(src, dst); err != nil {
				errs = append(errs, fmt.Errorf("managed %s: %w", e.Path, err))
				continue
			}
		}
		if !known {
			// The first generation to manage it: keep what was there.
			o := original{Absent: !exists}
			if exists {
				o.Saved = keepName(e.Path, "original")
				if err := keep(root, dst, o.Saved); err != nil {
					errs = append(errs, fmt.Errorf("managed %s: keep the original: %w", e.Path, err))
					continue
				}
			}
			rec.Paths[e.Path] = o
		}
		if same {
			if err := remember(root, e.Path, src); err != nil {
				errs = append(errs, fmt.Errorf("managed %s: %w", e.Path, err))
			}
			continue
		}
		c := Change{Path: e.Path, Action: "placed"}
		if exists && known && !placedByGeneration(root, e.Path, dst) {
			c.Kept = keepName(e.Path, stamp)
			if err := keep(root, dst, c.Kept); err != nil {
				errs = append(errs, fmt.Errorf("managed %s: keep the one replaced: %w", e.Path, err))
				continue
			}
		}
		if err := place(root, src, dst); err != nil {
			errs = append(errs, fmt.Errorf("managed %s: %w", e.Path, err))
			continue
		}
		if err := remember(root, e.Path, src); err != nil {
			errs = append(errs, fmt.Errorf("managed %s: %w", e.Path, err))
		}
		changes = append(changes, c)
	}
	// Paths an earlier generation managed that this one does not.
	for _, p := range sortedKeys(rec.Paths) {
		if managed[p] {
			continue
		}
		o := rec.Paths[p]
		dst := filepath.Join(root, p)
		if o.Absent {
			if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("no longer managed %s: %w", p, err))
				continue
			}
			os.Remove(filepath.Join(root, ReplacedDir, keepName(p, "last")))
			changes = append(changes, Change{Path: p, Action: "removed"})
		} else {
			if err := place(root, filepath.Join(root, ReplacedDir, o.Saved), dst); err != nil {
				errs = append(errs, fmt.Errorf("no longer managed %s: restore %s: %w", p, o.Saved, err))
				continue
			}
			os.Remove(filepath.Join(root, ReplacedDir, o.Saved))
			os.Remove(filepath.Join(root, ReplacedDir, keepName(p, "last")))
			changes = append(changes, Change{Path: p, Action: "restored"})
		}
		delete(rec.Paths, p)
	}
	if len(rec.Paths) > 0 || len(changes) > 0 {
		if err := writeRecord(root, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return changes, errors.Join(errs...)
}

// placedByGeneration reports whether the file at dst is the version a
// generation put there last (its copy "last" under ReplacedDir), not a
// hand edit.
func placedByGeneration(root, p, dst string) bool {
	same, err := Same(filepath.Join(root, ReplacedDir, keepName(p, "last")), dst)
	return err == nil && same
}

// remember keeps the version just put in place at p as "last", unless it
// already is.
func remember(root, p, src string) error {
	last := filepath.Join(root, ReplacedDir, keepName(p, "last"))
	if same, err := Same(src, last); err == nil && same {
		return nil
	}
	return keep(root, src, keepName(p, "last"))
}

// place copies src to dst, making dst's directory. A symbolic link on
// the way is refused: the persistent directories are writable by
// services, and a link there must not steer root's write elsewhere.
func place(root, src, dst string) error {
	if err := noLinkOnTheWay(root, filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return CopyFile(src, dst)
}

// noLinkOnTheWay fails when dir, or a directory between root and it that
// exists, is a symbolic link.
func noLinkOnTheWay(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		return err
	}
	p := root
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symbolic link: not writing through it (remove it, or declare the file where it leads)", p)
		}
	}
	return nil
}

// keepName names the copy of path p under ReplacedDir.
func keepName(p, tag string) string {
	return strings.TrimPrefix(p, "/") + "@" + tag
}

func keep(root, src, name string) error {
	dst := filepath.Join(root, ReplacedDir, name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return CopyFile(src, dst)
}

func readRecord(root string) (record, error) {
	rec := record{Paths: map[string]original{}}
	data, err := os.ReadFile(filepath.Join(root, RecordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w (remove it to start the record again)", RecordFile, err)
	}
	if rec.Paths == nil {
		rec.Paths = map[string]original{}
	}
	return rec, nil
}

func writeRecord(root string, rec record) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(root, RecordFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// The record decides what a rollback restores: written whole or not
	// at all, and durable before the boot goes on.
	return rootfs.WriteFileAt(p, append(data, '\n'), rootfs.WriteOptions{Perm: 0o644, Sync: true, SyncDir: true})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
