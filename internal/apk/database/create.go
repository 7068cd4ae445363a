package database

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Create makes an empty apk database in root, as `apk add --initdb`
// does: the directories apk expects, the basic device nodes (when running
// as root), an empty world and installed database, the lock file, the
// mount point for /proc and, when arch is not "", etc/apk/arch. Existing
// files are left alone. The installer writes the rest; this is what apk
// leaves behind even when the command then fails.
func Create(root, arch string) error {
	// apk runs with umask 0; modes are set explicitly below.
	dirs := []struct {
		path string
		mode uint32
	}{
		{"", 0o755},
		{"tmp", 0o1777},
		{"dev", 0o755},
		{"etc", 0o755},
		{"etc/apk", 0o755},
		{"lib", 0o755},
		{"lib/apk", 0o755},
		{"lib/apk/db", 0o755},
		{"var", 0o755},
		{"var/cache", 0o755},
		{"var/cache/apk", 0o755},
		{"var/cache/misc", 0o755},
	}
	for _, d := range dirs {
		p := filepath.Join(root, d.path)
		err := unix.Mkdir(p, d.mode)
		if err == nil {
			err = unix.Chmod(p, d.mode)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create database: %s: %w", p, err)
		}
	}
	if os.Geteuid() == 0 {
		for _, n := range []struct {
			name         string
			mode         uint32
			major, minor uint32
		}{
			{"dev/null", 0o666, 1, 3},
			{"dev/zero", 0o666, 1, 5},
			{"dev/random", 0o666, 1, 8},
			{"dev/urandom", 0o666, 1, 9},
			{"dev/console", 0o600, 5, 1},
		} {
			p := filepath.Join(root, n.name)
			err := unix.Mknod(p, unix.S_IFCHR|n.mode, int(unix.Mkdev(n.major, n.minor)))
			if err == nil {
				err = unix.Chmod(p, n.mode)
			}
			if err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create database: %s: %w", n.name, err)
			}
		}
	}
	for _, f := range []struct {
		name string
		mode uint32
	}{{WorldFile, 0o644}, {InstalledFile, 0o644}, {LockFile, 0o600}} {
		p := filepath.Join(root, f.name)
		fd, err := unix.Open(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, f.mode)
		if err == nil {
			err = unix.Fchmod(fd, f.mode)
			unix.Close(fd)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create database: %s: %w", p, err)
		}
	}
	proc := filepath.Join(root, "proc")
	err := unix.Mkdir(proc, 0o555)
	if err == nil {
		err = unix.Chmod(proc, 0o555)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create database: %s: %w", proc, err)
	}
	if arch != "" {
		if err := os.WriteFile(filepath.Join(root, ArchFile), []byte(arch+"\n"), 0o644); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	return nil
}
