package build

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// clampTimes sets every timestamp in root later than epoch to epoch, the
// way reproducible builds clamp to SOURCE_DATE_EPOCH: packages keep their
// files' own (older) times, and what the build itself wrote or touched
// (directories, the package database, generated files) gets epoch, so no
// time of the build host leaks into the tree.
func clampTimes(root string, epoch time.Time) error {
	clamp := unix.NsecToTimespec(epoch.UnixNano())
	omit := unix.Timespec{Nsec: unix.UTIME_OMIT}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		ts := []unix.Timespec{omit, omit}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && time.Unix(st.Atim.Unix()).After(epoch) {
			ts[0] = clamp
		}
		if fi.ModTime().After(epoch) {
			ts[1] = clamp
		}
		if ts[0] == omit && ts[1] == omit {
			return nil
		}
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
}
