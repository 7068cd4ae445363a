package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
)

// Staging is a tree being built: a subvolume on btrfs, a directory on
// plain stores, under @cairn/staging. Write the root file system into
// Dir(), then Seal it into a generation, or Abort it.
type Staging struct {
	store *Store
	id    string
	dir   string
	done  bool
}

// BeginStaging makes an empty, writable staging tree. It needs the lock,
// held until Seal or Abort.
func (s *Store) BeginStaging() (*Staging, error) {
	return s.beginStaging(s.backend.create)
}

// BeginStagingFrom makes a staging tree that starts as a writable copy
// of src, a subvolume on the store's btrfs file system (a snapshot: no
// data is copied). Plain stores do not have it: they fail with
// ErrNotBtrfs. It needs the lock, held until Seal or Abort.
func (s *Store) BeginStagingFrom(src string) (*Staging, error) {
	if s.backend.kind() != BackendBtrfs {
		return nil, fmt.Errorf("begin staging from %s: %w", src, ErrNotBtrfs)
	}
	return s.beginStaging(func(dir string) error { return btrfs.Snapshot(src, dir, false) })
}

func (s *Store) beginStaging(create func(dir string) error) (*Staging, error) {
	if err := s.checkLocked(); err != nil {
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	id := time.Now().UTC().Format("20060102T150405") + "-" + randomID()
	dir := s.path(stagingName, id)
	if err := create(dir); err != nil {
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	s.mu.Lock()
	s.staging[id] = true
	s.mu.Unlock()
	return &Staging{store: s, id: id, dir: dir}, nil
}

// Dir is the root of the tree to build.
func (st *Staging) Dir() string { return st.dir }

// ID names the staging tree under @cairn/staging.
func (st *Staging) ID() string { return st.id }

// AddFile puts a copy of the regular file src at rel (a path inside the
// tree; its directory must exist) sharing src's data where it can: by
// reflink on btrfs, by hard link on plain stores when src is in the
// store's cache (CacheDir), by copying otherwise. The new file has src's
// mode, owner and modification time; on plain stores a hard link is src
// itself, so cache files must already carry the metadata the tree needs,
// and must never be written again (the cache is read-only by contract).
func (st *Staging) AddFile(rel, src string) error {
	if st.done {
		return errors.New("add file: staging already sealed or aborted")
	}
	if !filepath.IsLocal(rel) {
		return fmt.Errorf("add file: %q is not a path inside the tree", rel)
	}
	dst := filepath.Join(st.dir, rel)
	fromCache := within(st.store.CacheDir(), src)
	if err := st.store.backend.addFile(dst, src, fromCache); err != nil {
		return fmt.Errorf("add file %s: %w", rel, err)
	}
	return nil
}

// Abort removes the staging tree.
func (st *Staging) Abort() error {
	if st.done {
		return nil
	}
	if err := st.store.backend.remove(st.dir, ""); err != nil {
		return fmt.Errorf("abort staging %s: %w", st.id, err)
	}
	st.finish()
	return nil
}

func (st *Staging) finish() {
	st.done = true
	st.store.mu.Lock()
	delete(st.store.staging, st.id)
	st.store.mu.Unlock()
}

// Seal turns the staging tree into generation N, one more than the
// highest number ever sealed, and returns it. The order makes a crash at
// any instant harmless:
//
//  1. meta/N.json is written and synced (nothing refers to it yet);
//  2. the tree's data is synced and the tree renamed to generations/N:
//     before the rename there is no generation N, after it a complete
//     one; it is read-only before Seal goes on (btrfs: the subvolume's
//     read-only flag, set just after the rename, which a read-only
//     subvolume would refuse; plain: the immutable attribute, set below
//     the top directory before the rename);
//  3. on plain stores the top directory is frozen too;
//  4. state.json records N as the last number sealed.
//
// Seal changes neither the default nor the trial: switching is a separate
// state change. meta.Generation is set to N, meta.Created to now when
// zero.
func (st *Staging) Seal(meta Meta) (Generation, error) {
	s := st.store
	if st.done {
		return Generation{}, errors.New("seal: staging already sealed or aborted")
	}
	if err := s.checkLocked(); err != nil {
		return Generation{}, fmt.Errorf("seal: %w", err)
	}
	state, unknown, err := s.readStateFile()
	if err != nil {
		return Generation{}, fmt.Errorf("seal: %w", err)
	}
	nums, err := s.numbers()
	if err != nil {
		return Generation{}, fmt.Errorf("seal: %w", err)
	}
	n := state.LastSealed
	for g := range nums {
		n = max(n, g)
	}
	n++
	meta.Generation = n
	if meta.Created.IsZero() {
		meta.Created = s.now().UTC()
	}
	gen := s.genPath(n)

	if err := s.writeMeta(meta); err != nil {
		return Generation{}, fmt.Errorf("seal generation %d: %w", n, err)
	}
	if err := s.crashPoint(PointSealMeta); err != nil {
		return Generation{}, err
	}
	if err := s.backend.seal(st.dir, gen); err != nil {
		if _, serr := os.Lstat(gen); isNotExist(serr) {
			os.Remove(s.metaPath(n)) // not published: the metadata describes nothing
			return Generation{}, fmt.Errorf("seal generation %d: %w", n, err)
		}
		st.finish()
		return Generation{}, fmt.Errorf("seal generation %d: %w (the generation exists; fsck finishes the job)", n, err)
	}
	if err := s.crashPoint(PointSealPublished); err != nil {
		return Generation{}, err
	}
	st.finish()
	if err := s.backend.finish(st.dir, gen); err != nil {
		return Generation{}, fmt.Errorf("seal generation %d: %w (the generation exists; fsck finishes the job)", n, err)
	}
	if err := s.crashPoint(PointSealDone); err != nil {
		return Generation{}, err
	}
	state.LastSealed = n
	if err := s.writeState(state, unknown); err != nil {
		return Generation{}, fmt.Errorf("seal generation %d: %w (the generation exists; fsck finishes the job)", n, err)
	}
	return Generation{Number: n, Path: gen, Meta: meta}, nil
}

// within reports whether path lies inside dir.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && filepath.IsLocal(rel) && !strings.HasPrefix(rel, "..")
}

func randomID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
