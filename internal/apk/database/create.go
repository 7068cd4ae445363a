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
// as root), and an empty world and installed database. Existing files are
// left alone.
func Create(root string) error {
	dirs := []struct {
		path string
		mode os.FileMode
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
		if err := os.Mkdir(p, d.mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create database: %w", err)
		}
		if d.mode&os.ModeSticky != 0 {
			if err := os.Chmod(p, d.mode); err != nil {
				return fmt.Errorf("create database: %w", err)
			}
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
			err := unix.Mknod(filepath.Join(root, n.name), unix.S_IFCHR|n.mode, int(unix.Mkdev(n.major, n.minor)))
			if err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create database: %s: %w", n.name, err)
			}
		}
	}
	for _, f := range []string{WorldFile, InstalledFile} {
		fh, err := os.OpenFile(filepath.Join(root, f), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("create database: %w", err)
		}
		fh.Close()
	}
	return nil
}
