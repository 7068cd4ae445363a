package liveroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
	"github.com/cairnlinux/cairn/internal/layout"
)

// Swap makes generation n of the store mounted at layout.RunStore the
// root of the running system (the root mount namespace: every process
// whose root is the current one, PID 1 included, sees the new one). Its
// steps are cairn-init's Prepare and SwitchRoot, on a live system:
//
//  1. the generation bind-mounted read-only at /run/cairn/live/N;
//  2. every mount on the current root recursively bound to the same place
//     in the new one (/dev, /proc, /sys, /run with the store, /tmp, and
//     whatever the operator mounted), except the old generation's
//     persistent directories and cairn-init's console files;
//  3. the new generation's persistent directories from the store
//     (cairninit.EnsurePersist: a new one is seeded from the generation),
//     and its inittab amended with the kernel's consoles;
//  4. /run/cairn/booted, /run/current-system and /run/cairn/meta.json
//     naming n;
//  5. pivot_root into it, and the old root detached: running processes
//     keep the files they have open, the next exec finds the new ones.
//
// A failure before step 5 unmounts what was mounted and leaves the
// running system as it was. warn receives what was left out.
func Swap(n int, warn func(string)) error {
	top := layout.RunStore
	gen := layout.GenerationDir(top, n)
	if fi, err := os.Stat(gen); err != nil || !fi.IsDir() {
		return fmt.Errorf("generation %d is not in the store %s", n, top)
	}
	target := filepath.Join(layout.RunDir, "live", strconv.Itoa(n))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(gen, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount generation %d: %w", n, err)
	}
	undo := func() { unix.Unmount(target, unix.MNT_DETACH); os.Remove(target) }
	if err := prepare(top, target, n, warn); err != nil {
		undo()
		return err
	}
	old := filepath.Join(layout.RunDir, "oldroot")
	if err := os.MkdirAll(old, 0o755); err != nil {
		undo()
		return err
	}
	if err := writeRecords(n); err != nil {
		undo()
		return fmt.Errorf("record generation %d in %s: %w", n, layout.RunDir, err)
	}
	if err := unix.PivotRoot(target, filepath.Join(target, old)); err != nil {
		undo()
		return fmt.Errorf("pivot_root into generation %d: %w", n, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	// The old root and its mounts go; so does the copy of the new root
	// that /run's recursive bind took along.
	if err := unix.Unmount(old, unix.MNT_DETACH); err != nil {
		warn(fmt.Sprintf("detach the previous root at %s: %v", old, err))
	}
	unix.Unmount(target, unix.MNT_DETACH)
	os.Remove(target)
	os.Remove(old)
	return nil
}

func prepare(top, target string, n int, warn func(string)) error {
	// Private, so that pivot_root accepts it and nothing mounted in it
	// propagates back.
	if err := unix.Mount("", target, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", target, err)
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", target, err)
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	ms, err := ParseMountinfo(strings.NewReader(string(data)))
	if err != nil {
		return err
	}
	oldPersist := persistList("/", warn)
	for _, p := range RootChildren(ms) {
		if slices.Contains(oldPersist, p) {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			warn(fmt.Sprintf("%s: %v: left out of the new root", p, err))
			continue
		}
		if !fi.IsDir() {
			// cairn-init's console files over /etc: made again below.
			continue
		}
		dst := filepath.Join(target, p)
		if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
			warn(fmt.Sprintf("generation %d has no directory %s: the mount there is left out", n, p))
			continue
		}
		if err := unix.Mount(p, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s into the new root: %w", p, err)
		}
	}
	for _, p := range persistList(target, warn) {
		dir, created, err := cairninit.EnsurePersist(top, target, p)
		if err != nil {
			return fmt.Errorf("persistent %s: %w", p, err)
		}
		if created {
			warn(fmt.Sprintf("persistent %s created, seeded from generation %d", p, n))
		}
		dst := filepath.Join(target, p)
		if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("persistent %s: no directory to mount it on: %w", p, err)
			}
		}
		if err := unix.Mount(dir, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("persistent %s: %w", p, err)
		}
	}
	return consoles(target, n)
}

// persistList is the generation at root's persistent directories.
func persistList(root string, warn func(string)) []string {
	f, err := os.Open(layout.InTree(root, layout.PersistList))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			warn(err.Error())
		}
		return nil
	}
	defer f.Close()
	paths, problems, err := layout.ParsePersist(f)
	for _, p := range problems {
		warn(fmt.Sprintf("%s: %s", layout.PersistList, p))
	}
	if err != nil {
		warn(fmt.Sprintf("%s: %v", layout.PersistList, err))
	}
	return paths
}

// consoles gives the new root's inittab the gettys cairn-init gave the
// booted one (cairninit.ConsoleInittab), in a file of its own under
// /run/cairn/console/N bound read-only over the generation's.
func consoles(target string, n int) error {
	ttys := cairninit.ConsoleDevices(func(name string) (string, bool) {
		data, err := os.ReadFile(filepath.Join("/sys/class/tty", name, "active"))
		if err != nil {
			return "", false
		}
		return strings.TrimSpace(string(data)), true
	})
	dst := filepath.Join(target, "etc/inittab")
	inittab, err := os.ReadFile(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	amended, added := cairninit.ConsoleInittab(inittab, ttys)
	if len(added) == 0 {
		return nil
	}
	dir := filepath.Join(layout.ConsoleDir, strconv.Itoa(n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src := filepath.Join(dir, "inittab")
	if err := os.WriteFile(src, amended, 0o644); err != nil {
		return err
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount the amended inittab: %w", err)
	}
	return unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
}

// writeRecords points /run's records at generation n, as cairn-init's
// recordBoot does.
func writeRecords(n int) error {
	if err := os.WriteFile(layout.BootedFile, layout.FormatBooted(n), 0o644); err != nil {
		return err
	}
	links := map[string]string{
		layout.CurrentSystem: layout.GenerationDir(layout.RunStore, n),
		layout.MetaLink:      layout.MetaFile(layout.RunStore, n),
	}
	for link, target := range links {
		tmp := link + ".new"
		os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, link); err != nil {
			return err
		}
	}
	return nil
}

// KernelRelease is the running kernel's release (uname -r); "" when
// unknown.
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
