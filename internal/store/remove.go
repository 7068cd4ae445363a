package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/layout"
)

// A store's generations are sealed against change (read-only subvolumes,
// or the immutable attribute on a plain store), so rm -rf fails on them
// by design. Remove takes a whole store away, knowing how they were
// sealed.

// Removal is what removing a store takes away.
type Removal struct {
	Dir     string `json:"dir"`
	Backend string `json:"backend"`
	// Generations are the generation numbers, sealed or not.
	Generations []int `json:"generations"`
	// Persistent are the persistent directories of the machines that
	// booted from the store, by their paths (/home, /var/log).
	Persistent []string `json:"persistent"`
	// Staging counts builds and deletions an interruption left.
	Staging int `json:"staging"`
	// Cache says whether there is a download cache.
	Cache bool `json:"cache"`
}

// PersistentError is Remove refusing to take persistent directories away
// unless asked to.
type PersistentError struct {
	Dir   string
	Paths []string
}

func (e *PersistentError) Error() string {
	return fmt.Sprintf("%s holds the persistent directories %s of the machines that boot from it (their data, kept across generations): they are removed only when asked for too",
		e.Dir, strings.Join(e.Paths, ", "))
}

// RemovalPlan lists what Remove would take away.
func (s *Store) RemovalPlan() (Removal, error) {
	r := Removal{Dir: s.top, Backend: s.Backend(), Generations: []int{}, Persistent: []string{}}
	entries, err := os.ReadDir(s.path(genDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	for _, e := range entries {
		if n, ok := layout.ParseNumber(e.Name()); ok {
			r.Generations = append(r.Generations, n)
		}
	}
	slices.Sort(r.Generations)
	if entries, err := os.ReadDir(s.path(persistName)); err == nil {
		for _, e := range entries {
			r.Persistent = append(r.Persistent, unescapePath(e.Name()))
		}
	}
	slices.Sort(r.Persistent)
	if entries, err := os.ReadDir(s.path(stagingName)); err == nil {
		r.Staging = len(entries)
	}
	if entries, err := os.ReadDir(s.path(cacheDirName)); err == nil {
		r.Cache = len(entries) > 0
	}
	return r, nil
}

// Remove takes the whole store away: every generation (sealed ones
// included), the metadata and state, interrupted builds, the cache, the
// persistent directories when withPersistent is set (else it refuses
// with a *PersistentError), and @cairn itself; the directory holding it
// stays. The store must be locked. Interrupted, Remove can run again:
// store.json, which makes the directory a store, goes last.
func (s *Store) Remove(withPersistent bool) error {
	if err := s.checkLocked(); err != nil {
		return fmt.Errorf("remove store: %w", err)
	}
	plan, err := s.RemovalPlan()
	if err != nil {
		return fmt.Errorf("remove store: %w", err)
	}
	if len(plan.Persistent) > 0 && !withPersistent {
		return &PersistentError{Dir: s.top, Paths: plan.Persistent}
	}
	for _, n := range plan.Generations {
		trash := s.path(stagingName, fmt.Sprintf("removing-%d-%s", n, randomID()))
		if err := s.backend.remove(s.genPath(n), trash); err != nil {
			return fmt.Errorf("remove store: generation %d: %w", n, err)
		}
	}
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("remove store: %w", err)
	}
	for _, e := range entries {
		if e.Name() == storeFileName || e.Name() == lockFileName {
			continue
		}
		if err := removeSealed(filepath.Join(s.root, e.Name())); err != nil {
			return fmt.Errorf("remove store: %w", err)
		}
	}
	// Last what makes it a store; the lock file goes while held.
	for _, name := range []string{storeFileName, lockFileName} {
		if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove store: %w", err)
		}
	}
	if err := os.Remove(s.root); err != nil {
		return fmt.Errorf("remove store: %w", err)
	}
	return syncDir(s.top)
}

// RemoveRemains removes what is left of a store in dir that is no store
// any more: an @cairn without store.json (what an interrupted init, or
// rm -rf failing on sealed generations, leaves). A complete store is
// refused with ErrExists: open it and Remove it.
func RemoveRemains(dir string) error {
	root := filepath.Join(dir, rootName)
	if _, err := os.Stat(filepath.Join(root, storeFileName)); err == nil {
		return fmt.Errorf("remove %s: %w", root, ErrExists)
	}
	if err := removeSealed(root); err != nil {
		return fmt.Errorf("remove %s: %w", root, err)
	}
	return syncDir(dir)
}

// removeSealed removes a tree that may hold immutable files and
// directories (a plain store's) and btrfs subvolumes, read-only ones
// included, nested ones first.
func removeSealed(path string) error {
	if err := thaw(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var subvolumes []string
	if ok, err := btrfs.IsBtrfs(path); err == nil && ok {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if sub, err := btrfs.IsSubvolume(p); err == nil && sub {
				subvolumes = append(subvolumes, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// Deepest first: the kernel deletes no subvolume that holds others.
	slices.SortFunc(subvolumes, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, sv := range subvolumes {
		if err := btrfs.DeleteSubvolume(sv); err != nil {
			return err
		}
	}
	return removeTree(path)
}

// unescapePath reverses cairn-init's escaping of a persistent directory's
// name (cairninit.EscapePath): var-lib-nomad is /var/lib/nomad.
func unescapePath(name string) string {
	var b strings.Builder
	b.WriteByte('/')
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '-':
			b.WriteByte('/')
		case c == '\\' && i+3 < len(name) && name[i+1] == 'x':
			var v byte
			if _, err := fmt.Sscanf(name[i+2:i+4], "%02x", &v); err == nil {
				b.WriteByte(v)
				i += 3
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
