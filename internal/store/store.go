package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
)

// Backend names, as store.json records them.
const (
	BackendBtrfs = "btrfs"
	BackendPlain = "plain"
)

// storeFormat is the layout version this code reads and writes.
const storeFormat = 1

// storeFile is @cairn/store.json.
type storeFile struct {
	Format  int    `json:"format"`
	Backend string `json:"backend"`
}

// Store is an opened store. Reading (Generations, Get, State, Usage) needs
// nothing; every change needs the writer's lock (Lock). A Store serves one
// writer: do not make changes from several goroutines at once.
type Store struct {
	top     string // the directory given to Open
	root    string // top/@cairn
	backend backend

	mu      sync.Mutex
	lock    *os.File        // held writer lock, nil when unlocked
	staging map[string]bool // staging ids begun through this Store
	hook    func(point string) error
	now     func() time.Time
}

// InitOptions shape a new store.
type InitOptions struct {
	// Backend is BackendBtrfs or BackendPlain; empty picks btrfs when the
	// directory is on btrfs and plain otherwise.
	Backend string
	// Quota enables btrfs quota accounting, which makes Usage exact (and
	// costs some speed on snapshot deletion). Btrfs stores only.
	Quota bool
}

// Init makes a store in dir, an existing directory (on a node, the btrfs
// top level), and opens it. It refuses a directory that already holds a
// store (ErrExists); a store whose Init was interrupted is completed.
func Init(dir string, opts InitOptions) (*Store, error) {
	if err := initStore(dir, opts); err != nil {
		return nil, fmt.Errorf("init store in %s: %w", dir, err)
	}
	return Open(dir)
}

func initStore(dir string, opts InitOptions) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	root := filepath.Join(dir, rootName)
	if _, err := os.Stat(filepath.Join(root, storeFileName)); err == nil {
		return ErrExists
	}
	onBtrfs, err := btrfs.IsBtrfs(dir)
	if err != nil && !errors.Is(err, btrfs.ErrNotSupported) {
		return err
	}
	kind := opts.Backend
	switch {
	case kind == "" && onBtrfs:
		kind = BackendBtrfs
	case kind == "":
		kind = BackendPlain
	case kind == BackendBtrfs && !onBtrfs:
		return errors.New("the btrfs backend needs a directory on btrfs")
	case kind != BackendBtrfs && kind != BackendPlain:
		return fmt.Errorf("unknown backend %q (want %s or %s)", kind, BackendBtrfs, BackendPlain)
	}
	if opts.Quota && kind != BackendBtrfs {
		return errors.New("quota accounting needs the btrfs backend")
	}
	for _, d := range []string{"", genDirName, metaDirName, stagingName, cacheDirName} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if opts.Quota {
		if err := btrfs.EnableQuota(dir); err != nil {
			return err
		}
	}
	s := &Store{top: dir, root: root}
	if _, err := os.Stat(s.statePath()); errors.Is(err, fs.ErrNotExist) {
		if err := s.writeState(State{}, nil); err != nil {
			return err
		}
	}
	// store.json last: its presence says the store is complete.
	data, err := json.Marshal(storeFile{Format: storeFormat, Backend: kind})
	if err != nil {
		return err
	}
	if err := s.writeAtomic(s.path(storeFileName), append(data, '\n'), ""); err != nil {
		return err
	}
	return syncDir(dir)
}

// Open opens the store in dir, the directory holding @cairn. A directory
// without a store gives an error wrapping ErrNotStore.
func Open(dir string) (*Store, error) {
	root := filepath.Join(dir, rootName)
	data, err := os.ReadFile(filepath.Join(root, storeFileName))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(root); serr == nil {
			return nil, fmt.Errorf("%s: %w (%s has no %s: an interrupted init? run init again)", dir, ErrNotStore, rootName, storeFileName)
		}
		return nil, fmt.Errorf("%s: %w (no %s/%s; init creates one)", dir, ErrNotStore, rootName, storeFileName)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	var sf storeFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("open store %s: %s: %w", dir, storeFileName, err)
	}
	if sf.Format != storeFormat {
		return nil, fmt.Errorf("open store %s: format %d, this cairn reads format %d", dir, sf.Format, storeFormat)
	}
	s := &Store{top: dir, root: root, staging: map[string]bool{}, now: time.Now}
	switch sf.Backend {
	case BackendBtrfs:
		ok, err := btrfs.IsBtrfs(root)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", dir, err)
		}
		if !ok {
			return nil, fmt.Errorf("open store %s: recorded as btrfs, but %s is not on btrfs", dir, root)
		}
		s.backend = btrfsBackend{}
	case BackendPlain:
		s.backend = plainBackend{cache: s.path(cacheDirName)}
	default:
		return nil, fmt.Errorf("open store %s: unknown backend %q in %s", dir, sf.Backend, storeFileName)
	}
	return s, nil
}

// Dir returns the directory the store was opened in.
func (s *Store) Dir() string { return s.top }

// Backend returns BackendBtrfs or BackendPlain.
func (s *Store) Backend() string { return s.backend.kind() }

// CacheDir returns @cairn/cache, where the package cache lives. Files
// added to a staging tree from there share their data with it.
func (s *Store) CacheDir() string { return s.path(cacheDirName) }
