// Package repo loads Alpine package repositories: it parses repository
// lists, downloads and verifies signed indexes (keeping a cached copy that
// is refreshed with conditional requests), and fetches packages into a
// content-addressed cache, verifying each before it is used.
//
// The URL layout and the cache names are apk-tools 2.14's: an index lives
// at <base>/<arch>/APKINDEX.tar.gz and is cached as
// APKINDEX.<8 hex of sha1(index URL)>.tar.gz; a package lives at
// <base>/<arch>/<name>-<version>.apk and is cached as
// <name>-<version>.<8 hex of its identity>.apk.
package repo

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

// Repository is one entry of /etc/apk/repositories.
type Repository struct {
	// URL is the repository's base: an http://, https:// or file:// URL or
	// a plain path. A URL or path ending in ".tar.gz" names an index file
	// directly; its packages then sit beside it.
	URL string
	// Tag is "" or the repository's tag with its '@' ("@edge"): a tagged
	// repository only provides packages asked for as name@tag.
	Tag string
}

// ParseRepository parses one repository: a URL or path, optionally
// preceded by a tag ("@edge https://…/edge/main"), as a line of
// /etc/apk/repositories or a command-line value holds it.
func ParseRepository(value string) (Repository, error) {
	fields := strings.Fields(value)
	var r Repository
	switch {
	case len(fields) == 1 && !strings.HasPrefix(fields[0], "@"):
		r.URL = fields[0]
	case len(fields) == 2 && strings.HasPrefix(fields[0], "@"):
		r.Tag, r.URL = fields[0], fields[1]
		if len(r.Tag) == 1 || strings.ContainsAny(r.Tag[1:], "@/:") {
			return Repository{}, fmt.Errorf("repository %q: bad tag %q (write it as @name)", value, r.Tag)
		}
	case len(fields) == 0:
		return Repository{}, errors.New("empty repository")
	default:
		return Repository{}, fmt.Errorf("repository %q: expected a URL, optionally after an @tag", strings.TrimSpace(value))
	}
	if err := checkLocation(r.URL); err != nil {
		return Repository{}, fmt.Errorf("repository %q: %w", r.URL, err)
	}
	if r.URL != "/" {
		r.URL = strings.TrimRight(r.URL, "/")
	}
	return r, nil
}

// checkLocation accepts http, https and file URLs and plain paths.
func checkLocation(loc string) error {
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok {
		return nil // a plain path
	}
	switch scheme {
	case "http", "https":
		u, err := url.Parse(loc)
		if err != nil {
			return err
		}
		if u.Host == "" {
			return errors.New("URL has no host")
		}
		return nil
	case "file":
		if _, err := localPath(loc); err != nil {
			return err
		}
		return nil
	}
	if !isScheme(scheme) || rest == "" {
		return nil // "./a://b" and such: a path after all
	}
	return fmt.Errorf("unsupported URL scheme %q (use http, https, file or a path)", scheme)
}

// isScheme reports whether s is a URL scheme (RFC 3986).
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// ParseRepositoriesFile parses the text of /etc/apk/repositories: one
// repository a line, "#" starts a comment line, blank lines are ignored.
// Every bad line is reported, each with its number.
func ParseRepositoriesFile(text string) ([]Repository, error) {
	var repos []Repository
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := ParseRepository(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
			continue
		}
		repos = append(repos, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return repos, nil
}

// String renders the repository as a repositories file line.
func (r Repository) String() string {
	if r.Tag != "" {
		return r.Tag + " " + r.URL
	}
	return r.URL
}

// IsRemote reports whether the repository is reached over HTTP.
func (r Repository) IsRemote() bool {
	return strings.HasPrefix(r.URL, "http://") || strings.HasPrefix(r.URL, "https://")
}

// isDirectIndex reports whether URL names an index file itself.
func (r Repository) isDirectIndex() bool { return strings.HasSuffix(r.URL, ".tar.gz") }

// IndexURL is where the repository's index for arch lives.
func (r Repository) IndexURL(arch string) string {
	if r.isDirectIndex() {
		return r.URL
	}
	return r.URL + "/" + arch + "/APKINDEX.tar.gz"
}

// PackageURL is where p lives in the repository: under the package's own
// architecture (A:), or arch if the index gives none.
func (r Repository) PackageURL(p *apk.Package, arch string) string {
	if r.isDirectIndex() {
		return besideLocation(r.URL, p.FileName())
	}
	if p.Arch != "" {
		arch = p.Arch
	}
	return r.URL + "/" + arch + "/" + p.FileName()
}

// besideLocation names the file name in the directory of loc, a URL or path.
func besideLocation(loc, name string) string {
	if strings.Contains(loc, "://") {
		return loc[:strings.LastIndexByte(loc, '/')+1] + name
	}
	return filepath.Join(filepath.Dir(loc), name)
}

// localPath turns a file:// URL or a plain path into a path.
func localPath(loc string) (string, error) {
	if !strings.HasPrefix(loc, "file://") {
		return loc, nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("file URL names host %q; only local files are supported", u.Host)
	}
	if u.Path == "" {
		return "", errors.New("file URL has no path")
	}
	return u.Path, nil
}
