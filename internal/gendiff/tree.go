package gendiff

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/layout"
)

// Paths of cairn's records a tree is read from, relative to its root.
var (
	generationPath = strings.TrimPrefix(layout.GenerationFile, "/")
	cmdlinePath    = strings.TrimPrefix(layout.CmdlineFile, "/")
)

// Paths a tree is read from, relative to its root.
const (
	installedDBPath = "lib/apk/db/installed"
	passwdPath      = "etc/passwd"
	groupPath       = "etc/group"
	fstabPath       = "etc/fstab"
	runlevelsPath   = "etc/runlevels"
)

// Ignored lists the paths Compare leaves out of the file changes, with
// why: apk's and cairn's own records (reported as packages and kernel),
// and the files that have a section of their own. A path ending in "/"
// covers everything below it.
var Ignored = []struct{ Path, Why string }{
	{"lib/apk/db/", "apk's database: reported as package changes"},
	{"etc/apk/world", "the packages asked for: reported as package changes"},
	{generationPath, "cairn's record of the generation: reported as packages and kernel"},
	{cmdlinePath, "reported as the kernel command line"},
	{runlevelsPath + "/", "reported as services"},
	{passwdPath, "reported as users"},
	{groupPath, "reported as groups"},
	{fstabPath, "reported as mounts"},
	{manifestPath + "/", "the manifest the generation was built from: reported as manifest changes"},
}

func ignored(rel string) bool {
	for _, ig := range Ignored {
		if rel == ig.Path || rel+"/" == ig.Path || strings.HasSuffix(ig.Path, "/") && strings.HasPrefix(rel, ig.Path) {
			return true
		}
	}
	return false
}

// tree is what Compare reads from one root besides its files.
type tree struct {
	root     string
	packages map[string]pkgVersion
	owners   map[string][]owner // by path relative to the root
	kernel   string
	cmdline  string
}

type pkgVersion struct {
	version  string
	checksum string // the package's identity, "" when unknown
}

// owner is a package's record of a path: a file (R:) or directory (F:).
type owner struct {
	pkg      string
	dir      bool
	acl      apk.ACL
	checksum apk.Checksum
	sha256   bool // checksums are SHA-256 truncated to 160 bits
}

// generationRecord is the part of the generation record
// (layout.Generation) Compare uses: a record whose other fields do not
// parse still tells the packages and the kernel.
type generationRecord struct {
	Kernel   string                     `json:"kernel"`
	Packages []layout.GenerationPackage `json:"packages"`
}

func readTree(root string) (*tree, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", root)
	}
	t := &tree{root: root, packages: map[string]pkgVersion{}, owners: map[string][]owner{}}
	db, haveDB, err := readOptional(root, installedDBPath)
	if err != nil {
		return nil, err
	}
	if haveDB {
		pkgs, err := apk.ParseInstalledDB(db)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", joinRoot(root, installedDBPath), err)
		}
		for _, p := range pkgs {
			t.addPackage(p)
		}
	}
	gen, haveGen, err := readOptional(root, generationPath)
	if err != nil {
		return nil, err
	}
	var rec generationRecord
	if haveGen {
		if err := json.Unmarshal([]byte(gen), &rec); err != nil {
			return nil, fmt.Errorf("%s: %w", joinRoot(root, generationPath), err)
		}
		if !haveDB {
			// A tree without apk's database: the record's list is all
			// there is.
			for _, p := range rec.Packages {
				t.packages[p.Name] = pkgVersion{version: p.Version}
			}
		}
	}
	if rec.Kernel != "" {
		t.kernel = rec.Kernel
		if v, ok := t.packages[rec.Kernel]; ok {
			t.kernel += " " + v.version
		}
	}
	cmdline, _, err := readOptional(root, cmdlinePath)
	if err != nil {
		return nil, err
	}
	t.cmdline, _, _ = strings.Cut(cmdline, "\n")
	t.cmdline = strings.TrimSpace(t.cmdline)
	return t, nil
}

func (t *tree) addPackage(p *apk.InstalledPackage) {
	t.packages[p.Name] = pkgVersion{version: p.Version, checksum: p.Checksum.String()}
	for _, d := range p.Dirs {
		t.owners[d.Path] = append(t.owners[d.Path], owner{pkg: p.Name, dir: true, acl: d.ACL})
		for _, f := range d.Files {
			rel := f.Name
			if d.Path != "" {
				rel = d.Path + "/" + f.Name
			}
			t.owners[rel] = append(t.owners[rel], owner{pkg: p.Name, acl: f.ACL, checksum: f.Checksum, sha256: p.SHA256x160})
		}
	}
}

var errMissing = errors.New("missing")

// readFileIn reads rel inside root as a process chrooted into root would:
// symbolic links are followed with root as "/" (an absolute link in the
// tree points into the tree, never at the host's files, and ".." stops at
// the root). A missing file gives errMissing.
func readFileIn(root, rel string) ([]byte, error) {
	path, err := resolveIn(root, rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errMissing
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return io.ReadAll(f)
}

// resolveIn returns the host path of rel in the tree at root, following
// symbolic links inside the tree (at most 40, as Linux does).
func resolveIn(root, rel string) (string, error) {
	todo := strings.Split(filepath.ToSlash(rel), "/")
	var done []string
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		path := filepath.Join(root, filepath.Join(append(done, c)...))
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", errMissing
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", rel)
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return filepath.Join(root, filepath.Join(done...)), nil
}

func joinRoot(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
