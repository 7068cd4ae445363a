package cairninit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultInits are the programs tried, in order, when init= is not
// given: busybox init (Alpine's /sbin/init, which runs OpenRC from
// /etc/inittab and the consoles' gettys), then OpenRC's own init.
var DefaultInits = []string{"/sbin/init", "/sbin/openrc-init"}

// maxLinks bounds the symbolic links followed resolving one path, as
// the kernel's 40.
const maxLinks = 40

// resolveIn resolves the absolute path p inside the directory root as if
// root were "/": symbolic links are followed, absolute ones from root,
// and ".." never climbs above root. It returns the path on the host.
func resolveIn(root, p string) (string, error) {
	links := 0
	rest := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		links++
		if links > maxLinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		rest = append(strings.Split(strings.Trim(target, "/"), "/"), rest...)
	}
	return filepath.Join(root, cur), nil
}

// findInit returns the first of the candidate programs that is an
// executable file inside root.
func findInit(root string, candidates []string) (string, error) {
	var errs []error
	for _, c := range candidates {
		if !strings.HasPrefix(c, "/") {
			errs = append(errs, fmt.Errorf("%s: not an absolute path", c))
			continue
		}
		host, err := resolveIn(root, c)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
			continue
		}
		fi, err := os.Stat(host)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
			continue
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s: not an executable file", c))
			continue
		}
		return c, nil
	}
	return "", fmt.Errorf("no init: %w", errors.Join(errs...))
}
