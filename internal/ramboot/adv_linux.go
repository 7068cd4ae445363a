package ramboot

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ReadADVFile reads the ADV at the end of ldlinux.sys (path).
func ReadADVFile(path string) (ADV, error) {
	f, err := os.Open(path)
	if err != nil {
		return ADV{}, fmt.Errorf("syslinux's ADV: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ADV{}, fmt.Errorf("syslinux's ADV: %w", err)
	}
	var b ADV
	if fi.Size() < int64(len(b)) {
		return ADV{}, fmt.Errorf("syslinux's ADV: %s is %d bytes, too short to hold one (is it ldlinux.sys, installed by extlinux --install?)", path, fi.Size())
	}
	if _, err := f.ReadAt(b[:], fi.Size()-int64(len(b))); err != nil {
		return ADV{}, fmt.Errorf("syslinux's ADV in %s: %w", path, err)
	}
	a, err := ParseADV(b[:])
	if err != nil {
		return ADV{}, fmt.Errorf("%s: %w (extlinux --reset-adv writes an empty one)", path, err)
	}
	return a, nil
}

// WriteADVFile writes a over the last 1024 bytes of ldlinux.sys (path)
// in place and syncs, as extlinux --once does: syslinux reads and
// writes those sectors directly at boot, so the file's blocks must stay
// where they are. extlinux makes the file immutable; the flag is
// lifted for the write and put back.
func WriteADVFile(path string, a ADV) error {
	ro, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("syslinux's ADV: %w", err)
	}
	defer ro.Close()
	flags, ferr := unix.IoctlGetUint32(int(ro.Fd()), unix.FS_IOC_GETFLAGS)
	immutable := ferr == nil && flags&fsImmutableFL != 0
	if immutable {
		if err := unix.IoctlSetPointerInt(int(ro.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^fsImmutableFL)); err != nil {
			return fmt.Errorf("syslinux's ADV: lifting the immutable flag of %s: %w", path, err)
		}
		defer unix.IoctlSetPointerInt(int(ro.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("syslinux's ADV: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("syslinux's ADV: %w", err)
	}
	if fi.Size() < int64(len(a)) {
		return fmt.Errorf("syslinux's ADV: %s is %d bytes, too short to hold one", path, fi.Size())
	}
	if _, err := f.WriteAt(a[:], fi.Size()-int64(len(a))); err != nil {
		return fmt.Errorf("syslinux's ADV in %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syslinux's ADV in %s: %w", path, err)
	}
	return nil
}

// fsImmutableFL is FS_IMMUTABLE_FL of linux/fs.h (chattr +i), which
// x/sys/unix does not define.
const fsImmutableFL = 0x00000010
