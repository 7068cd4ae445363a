package layout

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// A store lives in a directory, its top (on a node, the btrfs top level,
// subvolid 5), as StoreDir and what it holds:
//
//	@cairn/store.json         format and backend; written last by init
//	@cairn/lock               flock(2) lock: one writer at a time
//	@cairn/state.json         State: default, trial, last good, pinned, booted
//	@cairn/generations/<N>    generation N's root tree, read-only
//	@cairn/meta/<N>.json      what generation N is
//	@cairn/staging/<id>       builds in progress; garbage after a crash
//	@cairn/cache/             the package cache files are shared from
//	@cairn/persist/<name>     persistent directories (EscapePath names them)
//	@cairn/snapshots/<name>/<time>  read-only snapshots of them (internal/snapshots)
//
// The names below are relative to StoreDir.
const (
	StoreDir       = "@cairn"
	StoreFile      = "store.json"
	LockFile       = "lock"
	StateFile      = "state.json"
	GenerationsDir = "generations"
	MetaDir        = "meta"
	StagingDir     = "staging"
	CacheDir       = "cache"
	PersistDir     = "persist"
	SnapshotsDir   = "snapshots"
	// IdentityFile is an identity for the node's secrets put on its
	// persistent file system before its first boot (an age identity
	// file or an OpenSSH private key).
	IdentityFile = "identity"
	// TmpSuffix names a file being written, renamed over its name once
	// complete and synced; one left behind is an interrupted write.
	TmpSuffix = ".tmp"
)

// StorePath returns the path of a name of the store whose top directory
// is top: StorePath(top, StateFile) is top/@cairn/state.json.
func StorePath(top string, elem ...string) string {
	return filepath.Join(append([]string{top, StoreDir}, elem...)...)
}

// GenerationSubvol is generation n's tree relative to the store's top
// directory, as a loader's rootflags=subvol= names it.
func GenerationSubvol(n int) string {
	return StoreDir + "/" + GenerationsDir + "/" + strconv.Itoa(n)
}

// GenerationDir is generation n's tree in the store at top.
func GenerationDir(top string, n int) string {
	return StorePath(top, GenerationsDir, strconv.Itoa(n))
}

// MetaFile is generation n's metadata in the store at top.
func MetaFile(top string, n int) string {
	return StorePath(top, MetaDir, strconv.Itoa(n)+".json")
}

// ParseNumber parses a generation number as the store writes it:
// decimal, positive, no sign or leading zero. Any other name in
// @cairn/generations is not a generation.
func ParseNumber(name string) (int, bool) {
	n, err := strconv.Atoi(name)
	if err != nil || n <= 0 || strconv.Itoa(n) != name {
		return 0, false
	}
	return n, true
}

// Generations lists the generations of the store at top: the
// directories of @cairn/generations named by a number (ParseNumber),
// ascending.
func Generations(top string) ([]int, error) {
	entries, err := os.ReadDir(StorePath(top, GenerationsDir))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		if n, ok := ParseNumber(e.Name()); ok && e.IsDir() {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// IsStore reports, as an error saying why not, whether top holds a
// cairn store's generations.
func IsStore(top string) error {
	dir := StoreDir + "/" + GenerationsDir
	fi, err := os.Stat(StorePath(top, GenerationsDir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no %s: not a cairn store", dir)
		}
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
