package build

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// depmodLists are the text lists depmod writes into lib/modules/VERSION.
var depmodLists = []string{"modules.dep", "modules.alias", "modules.symbols", "modules.devname", "modules.softdep"}

// sortDepmodLists puts the lines of depmod's text lists in a fixed order.
// Busybox's depmod, which busybox's trigger runs for a new kernel, writes
// modules in the order the file system lists a directory: a tree built on
// ext4 and the same tree built on btrfs or tmpfs get the same lines in
// different orders, and the same manifest and lock would build different
// trees on different machines. modprobe reads the lists whole, so their
// order means nothing to it. Leading comment lines stay first; files a
// package owns are left as the package has them.
func sortDepmodLists(root string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	versions, err := fs.ReadDir(r.FS(), "lib/modules")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	owned, err := packagedFiles(r)
	if err != nil {
		return err
	}
	for _, v := range versions {
		if !v.IsDir() {
			continue
		}
		for _, name := range depmodLists {
			rel := path.Join("lib/modules", v.Name(), name)
			if owned[rel] {
				continue
			}
			if err := sortLines(r, rel); err != nil {
				return fmt.Errorf("/%s: %w", rel, err)
			}
		}
	}
	return nil
}

// sortLines sorts the lines of the regular file rel after its leading
// comment lines, in place.
func sortLines(r *os.Root, rel string) error {
	fi, err := r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
		return nil
	}
	if err != nil {
		return err
	}
	data, err := r.ReadFile(rel)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(data), "\n")
	if last := lines[len(lines)-1]; last == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] = last + "\n"
	}
	head := 0
	for head < len(lines) && strings.HasPrefix(lines[head], "#") {
		head++
	}
	slices.Sort(lines[head:])
	sorted := []byte(strings.Join(lines, ""))
	if bytes.Equal(sorted, data) {
		return nil
	}
	f, err := r.OpenFile(rel, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(sorted); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// packagedFiles lists the files (paths relative to the root) that the
// installed packages own, from lib/apk/db/installed.
func packagedFiles(r *os.Root) (map[string]bool, error) {
	f, err := r.Open("lib/apk/db/installed")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	owned := map[string]bool{}
	dir := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "P:"):
			dir = ""
		case strings.HasPrefix(line, "F:"):
			dir = line[2:]
		case strings.HasPrefix(line, "R:"):
			owned[path.Join(dir, line[2:])] = true
		}
	}
	return owned, sc.Err()
}
