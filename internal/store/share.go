package store

import (
	"fmt"
)

// ShareStats says what ShareWithCache did.
type ShareStats struct {
	// Linked counts files replaced by a link to an object already in the
	// cache; Added counts files that became new objects.
	Linked, Added int
	// Bytes is the data the linked files no longer hold on their own.
	Bytes int64
}

// minSharedSize is the smallest file ShareWithCache links: a smaller one
// costs about as much in the cache's directory as it saves.
const minSharedSize = 4096

// ShareWithCache makes a finished staging tree of a plain store share its
// files with earlier generations, as OSTree's commit does: every regular
// file of at least 4 KiB with a single link, no extended attributes and
// no set-id bits is looked up by its content and metadata (SHA-256 of the
// data, mode, owner, modification time) in @cairn/cache/objects; a file
// found there is replaced by a hard link to the object, one not found
// becomes an object. Call it after everything is written into the tree
// (package and setup scripts edit files in place; a link must never be
// written again), just before Seal. On btrfs stores it does nothing:
// builds there share data by reflink as they write it.
//
// The tree's data is synced first, so an object is never named before its
// data is on disk. A crash leaves at most a temporary object, which the
// store's gc removes, and an unsealed staging tree, which fsck removes.
func (st *Staging) ShareWithCache() (ShareStats, error) {
	if st.done {
		return ShareStats{}, fmt.Errorf("share: staging already sealed or aborted")
	}
	if st.store.backend.kind() != BackendPlain {
		return ShareStats{}, nil
	}
	if err := st.store.checkLocked(); err != nil {
		return ShareStats{}, fmt.Errorf("share: %w", err)
	}
	s, err := shareTree(st.dir, st.store.path(cacheDirName, objectsDirName))
	if err != nil {
		return s, fmt.Errorf("share staging %s with the cache: %w", st.id, err)
	}
	return s, nil
}

// objectsDirName is @cairn/cache/objects, the plain store's shared files.
const objectsDirName = "objects"
