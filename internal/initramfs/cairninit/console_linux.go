package cairninit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/layout"
)

// consoleDir is where, in the new root's /run, cairn-init keeps the
// amended /etc/inittab and /etc/securetty that are mounted over the
// generation's.
const consoleDir = layout.ConsoleDir

// addConsoles gives the prepared root at root a getty on every console
// the kernel writes to, as Alpine's initramfs does (ConsoleInittab). The
// generation stays as it is: the amended files are written into the new
// root's /run (a tmpfs) and bound read-only over the generation's. A
// system without /etc/inittab (another init) is left alone. Problems are
// reported: the system still boots, with the prompts its inittab has.
func (m *machine) addConsoles(root string, log *Log) {
	ttys := ConsoleDevices(func(name string) (string, bool) {
		data, err := os.ReadFile(filepath.Join("/sys/class/tty", name, "active"))
		if err != nil {
			return "", false
		}
		return strings.TrimSpace(string(data)), true
	})
	inittab, err := os.ReadFile(filepath.Join(root, "etc/inittab"))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		log.Errorf("consoles: %v", err)
		return
	}
	amended, added := ConsoleInittab(inittab, ttys)
	if len(added) == 0 {
		return
	}
	if err := m.overlayFile(root, "etc/inittab", amended); err != nil {
		log.Errorf("consoles: a getty on %s: %v", strings.Join(added, ", "), err)
		return
	}
	log.Infof("a getty on %s, the kernel's console, as Alpine's initramfs adds it", strings.Join(added, ", "))
	securetty, err := os.ReadFile(filepath.Join(root, "etc/securetty"))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil {
		if amended, changed := ConsoleSecuretty(securetty, added); changed {
			err = m.overlayFile(root, "etc/securetty", amended)
		}
	}
	if err != nil {
		log.Errorf("consoles: /etc/securetty: %v", err)
	}
}

// overlayFile puts data in place of the file rel of the new root: a
// copy in the root's /run, mounted read-only over it. The copy keeps the
// original's mode and owner.
func (m *machine) overlayFile(root, rel string, data []byte) error {
	dst := filepath.Join(root, rel)
	var st unix.Stat_t
	if err := unix.Stat(dst, &st); err != nil {
		return err
	}
	dir := filepath.Join(root, consoleDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src := filepath.Join(dir, filepath.Base(rel))
	if err := os.WriteFile(src, data, os.FileMode(st.Mode&0o7777)); err != nil {
		return err
	}
	if err := os.Chmod(src, os.FileMode(st.Mode&0o777)); err != nil {
		return err
	}
	if err := os.Lchown(src, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := m.mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", dst, err)
	}
	return nil
}
