package store

import (
	"path/filepath"
	"strconv"
)

// The names under a store's top directory.
const (
	rootName      = "@cairn"
	storeFileName = "store.json"
	lockFileName  = "lock"
	stateFileName = "state.json"
	genDirName    = "generations"
	metaDirName   = "meta"
	stagingName   = "staging"
	cacheDirName  = "cache"
	tmpSuffix     = ".tmp"
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

// parseNumber parses a generation number as the store writes it: decimal,
// positive, no sign or leading zero.
func parseNumber(name string) (int, bool) {
	n, err := strconv.Atoi(name)
	if err != nil || n <= 0 || strconv.Itoa(n) != name {
		return 0, false
	}
	return n, true
}
