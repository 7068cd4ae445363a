package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func shareTree(root, objects string) (ShareStats, error) {
	var stats ShareStats
	if err := syncFS(root); err != nil {
		return stats, err
	}
	tmpDir := filepath.Join(objects, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return stats, err
	}
	buf := make([]byte, 256<<10)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) (rerr error) {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		var stx unix.Stat_t
		if err := unix.Lstat(path, &stx); err != nil {
			return &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
		if stx.Nlink != 1 || stx.Size < minSharedSize || stx.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
			return nil
		}
		if n, err := unix.Llistxattr(path, nil); err != nil && !errors.Is(err, unix.ENOTSUP) {
			return &fs.PathError{Op: "listxattr", Path: path, Err: err}
		} else if n > 0 {
			return nil
		}
		key, err := objectKey(path, &stx, buf)
		if err != nil {
			return err
		}
		obj := filepath.Join(objects, key[:2], key[2:])
		if _, err := os.Lstat(obj); err == nil {
			// Replace the file by a link to the object, atomically,
			// and give the directory back the times the rename
			// takes from it: a generation's directories keep the
			// build's times.
			var dirSt unix.Stat_t
			if err := unix.Lstat(filepath.Dir(path), &dirSt); err != nil {
				return &fs.PathError{Op: "lstat", Path: filepath.Dir(path), Err: err}
			}
			defer func() {
				if rerr == nil {
					rerr = restoreTimes(filepath.Dir(path), &dirSt)
				}
			}()
			tmp := path + ".cairn-share"
			if err := os.Link(obj, tmp); err != nil {
				if linkFailed(err) {
					return nil // the object has all the links it can have
				}
				return err
			}
			if err := os.Rename(tmp, path); err != nil {
				os.Remove(tmp)
				return err
			}
			stats.Linked++
			stats.Bytes += stx.Blocks * 512
			return nil
		}
		// A new object: linked under a temporary name, then named.
		if err := os.MkdirAll(filepath.Dir(obj), 0o755); err != nil {
			return err
		}
		tmp := filepath.Join(tmpDir, key+"."+randomHex())
		if err := os.Link(path, tmp); err != nil {
			if linkFailed(err) {
				return nil
			}
			return err
		}
		if err := os.Rename(tmp, obj); err != nil {
			os.Remove(tmp)
			return err
		}
		stats.Added++
		return nil
	})
	return stats, err
}

// objectKey identifies a file by everything a link shares: its data and
// its metadata.
func objectKey(path string, stx *unix.Stat_t, buf []byte) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", err
	}
	var meta [32]byte
	binary.LittleEndian.PutUint32(meta[0:], stx.Mode)
	binary.LittleEndian.PutUint32(meta[4:], stx.Uid)
	binary.LittleEndian.PutUint32(meta[8:], stx.Gid)
	binary.LittleEndian.PutUint64(meta[16:], uint64(stx.Mtim.Sec))
	binary.LittleEndian.PutUint64(meta[24:], uint64(stx.Mtim.Nsec))
	h.Write(meta[:])
	return hex.EncodeToString(h.Sum(nil)), nil
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func restoreTimes(dir string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dir, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimes", Path: dir, Err: err}
	}
	return nil
}
