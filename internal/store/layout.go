package store

import (
	"path/filepath"
	"strconv"

	"github.com/cairnlinux/cairn/internal/layout"
)

// The names under a store's top directory (layout.StoreDir and what it
// holds).
const (
	rootName      = layout.StoreDir
	storeFileName = layout.StoreFile
	lockFileName  = layout.LockFile
	stateFileName = layout.StateFile
	genDirName    = layout.GenerationsDir
	metaDirName   = layout.MetaDir
	stagingName   = layout.StagingDir
	cacheDirName  = layout.CacheDir
	// persistName is where cairn-init keeps a store's persistent
	// directories (docs/boot.md): the machine's data, shared by all
	// generations.
	persistName = layout.PersistDir
	tmpSuffix   = layout.TmpSuffix
)

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) genPath(n int) string  { return s.path(genDirName, strconv.Itoa(n)) }
func (s *Store) metaPath(n int) string { return s.path(metaDirName, strconv.Itoa(n)+".json") }
func (s *Store) statePath() string     { return s.path(stateFileName) }

// rel names path relative to the store's top directory, for reports.
func (s *Store) rel(path string) string {
	if r, err := filepath.Rel(s.top, path); err == nil {
		return r
	}
	return path
}
