package store

import (
	"fmt"
	"os"
	"time"
)

// backend keeps the trees of a store; Store does everything else (numbers,
// metadata, state, order of steps) the same way for both.
type backend interface {
	kind() string
	// create makes an empty, writable staging tree at dir.
	create(dir string) error
	// seal makes the staging tree the read-only, durable generation gen,
	// published in one atomic step: before it gen does not exist, after
	// it gen is complete.
	seal(staging, gen string) error
	// finish completes a seal after gen exists: any protection that had
	// to wait for the rename.
	finish(staging, gen string) error
	// sealed reports whether gen is read-only as seal leaves it.
	sealed(gen string) (bool, error)
	// reseal makes gen read-only again (Fsck).
	reseal(gen string) error
	// remove deletes the tree at dir (a generation or a staging tree). A
	// backend that cannot remove a tree atomically first renames it to
	// trash when trash is not empty.
	remove(dir, trash string) error
	// addFile creates dst with src's content, mode, owner and mtime,
	// sharing the data where the backend can.
	addFile(dst, src string, fromCache bool) error
	// usage measures what gen holds alone and what it shares.
	usage(gen string) (Usage, error)
	// created returns when the tree at gen was made, for recovered
	// metadata.
	created(gen string) (time.Time, error)
}

// copyMeta gives dst the owner and modification time of src (the mode is
// set when dst is created).
func copyMeta(dst string, src os.FileInfo) error {
	if uid, gid := owner(src); uid >= 0 && os.Geteuid() == 0 {
		if err := os.Lchown(dst, uid, gid); err != nil {
			return err
		}
	}
	if err := os.Chtimes(dst, src.ModTime(), src.ModTime()); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}
