package state

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Own are paths of the writable state that cairn keeps for itself (its
// record of managed files, the copies it kept, the SSH host keys it
// made): never drift.
var Own = []string{layout.NodeStateDir}

// DriftOptions say what Drift compares.
type DriftOptions struct {
	// Root is the running system ("/"), its persistent directories
	// mounted.
	Root string
	// Generation is the booted generation's tree (/run/current-system).
	Generation string
	// OpenRC is OpenRC's state directory (/run/openrc); "" skips the
	// services.
	OpenRC string
	// Added also lists files the generation neither declares nor seeded
	// (data, logs, caches: what persistent directories are for).
	Added bool
}

// FileDrift is one path of the writable state that differs from the
// generation.
type FileDrift struct {
	Path string `json:"path"`
	// Kind: "changed", "missing" (the generation has it, the node not),
	// "added" (the node has it, the generation not; with Added).
	Kind string `json:"kind"`
	// How it changed: "content", "mode 0644 -> 0600", ...
	How string `json:"how,omitempty"`
	// Declared is the file's state when the manifest declares it
	// (managed, seed), "" for what the generation only seeded.
	Declared string `json:"declared,omitempty"`
}

func (f FileDrift) String() string {
	s := fmt.Sprintf("%-8s %s", f.Kind, f.Path)
	if f.How != "" {
		s += " (" + f.How + ")"
	}
	switch f.Declared {
	case Managed:
		s += ": managed, the next boot puts the generation's version back"
	case Seed:
		s += ": a seed"
	}
	return s
}

// ServiceDrift is a running service the generation does not declare.
type ServiceDrift struct {
	Name string `json:"name"`
	Why  string `json:"why"`
}

// DriftReport is what Drift found.
type DriftReport struct {
	Persist  []string       `json:"persist"`
	Files    []FileDrift    `json:"files"`
	Services []ServiceDrift `json:"services"`
}

// Empty reports whether nothing drifted.
func (r DriftReport) Empty() bool { return len(r.Files) == 0 && len(r.Services) == 0 }

// Drift compares the writable state of the running system with the
// generation it booted: every path under a persistent directory that
// differs from what the generation declares or seeded (the generation's
// own tree at that path, the declared copy for declared files), and
// every started OpenRC service that is in none of the generation's
// runlevels and that no service of them needs.
func Drift(o DriftOptions) (DriftReport, error) {
	var r DriftReport
	persist, err := ReadPersistList(o.Generation)
	if err != nil {
		return r, err
	}
	r.Persist = persist
	decl, err := ReadDeclared(o.Generation)
	if err != nil {
		return r, err
	}
	skip := func(p, top string) bool {
		if p != top && slices.Contains(persist, p) {
			return true // walked on its own
		}
		for _, own := range Own {
			if p == own || strings.HasPrefix(p, own+"/") {
				return true
			}
		}
		return false
	}
	for _, top := range persist {
		genTop := filepath.Join(o.Generation, top)
		if _, err := os.Lstat(genTop); err == nil {
			err := filepath.WalkDir(genTop, func(g string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				p := path.Join(top, filepath.ToSlash(mustRel(genTop, g)))
				if skip(p, top) {
					if d.IsDir() {
						return fs.SkipDir
					}
					return nil
				}
				want := g
				e, declared := decl.Find(p)
				if declared {
					want = filepath.Join(o.Generation, DeclaredDir, p)
				}
				how, err := Differs(want, filepath.Join(o.Root, p))
				if err != nil {
					return err
				}
				if how == "" || (declared && e.State == Seed && how == "missing") {
					return nil
				}
				f := FileDrift{Path: p, Kind: "changed", How: how, Declared: e.State}
				if how == "missing" {
					f.Kind, f.How = "missing", ""
				}
				if how == "type" {
					f.How = "now a different kind of file"
				}
				r.Files = append(r.Files, f)
				if d.IsDir() && f.Kind == "missing" {
					return fs.SkipDir
				}
				return nil
			})
			if err != nil {
				return r, fmt.Errorf("compare %s: %w", top, err)
			}
		}
		if !o.Added {
			continue
		}
		liveTop := filepath.Join(o.Root, top)
		err := filepath.WalkDir(liveTop, func(l string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			p := path.Join(top, filepath.ToSlash(mustRel(liveTop, l)))
			if skip(p, top) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if _, err := os.Lstat(filepath.Join(o.Generation, p)); errors.Is(err, fs.ErrNotExist) {
				r.Files = append(r.Files, FileDrift{Path: p, Kind: "added"})
				if d.IsDir() {
					return fs.SkipDir
				}
			}
			return nil
		})
		if err != nil {
			return r, fmt.Errorf("list %s: %w", top, err)
		}
	}
	slices.SortFunc(r.Files, func(a, b FileDrift) int { return strings.Compare(a.Path, b.Path) })
	if o.OpenRC != "" {
		if r.Services, err = serviceDrift(o.Generation, o.OpenRC); err != nil {
			return r, err
		}
	}
	return r, nil
}

func mustRel(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		panic(err) // WalkDir's paths are under base
	}
	return rel
}

// ReadPersistList reads the persistent directories of the generation
// tree at root (layout.PersistList), sorted; "/var" when it has no list.
func ReadPersistList(root string) ([]string, error) {
	f, err := os.Open(layout.InTree(root, layout.PersistList))
	if errors.Is(err, fs.ErrNotExist) {
		return []string{"/var"}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	paths, _, err := layout.ParsePersist(f)
	return paths, err
}

// PersistRoot returns the persistent directory p lives in: the longest
// of persist that is p or a parent of it; "" when none is.
func PersistRoot(persist []string, p string) string {
	best := ""
	for _, d := range persist {
		if (p == d || strings.HasPrefix(p, d+"/")) && len(d) > len(best) {
			best = d
		}
	}
	return best
}

var depLine = regexp.MustCompile(`^depinfo_(\d+)_(service|ineed|iwant|iprovide)(?:_\d+)?='(.*)'$`)

// serviceDrift lists the services OpenRC started (its started/
// directory) that the generation declares nowhere: in none of its
// runlevels, and not needed or wanted by a service of them (OpenRC's
// dependency tree, deptree, says which).
func serviceDrift(gen, openrc string) ([]ServiceDrift, error) {
	entries, err := os.ReadDir(filepath.Join(openrc, "started"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	levels, _ := os.ReadDir(filepath.Join(gen, "etc", "runlevels"))
	for _, l := range levels {
		svcs, _ := os.ReadDir(filepath.Join(gen, "etc", "runlevels", l.Name()))
		for _, s := range svcs {
			declared[s.Name()] = true
		}
	}
	// The dependency tree: service -> what it needs or wants; virtual
	// name -> its providers.
	deps := map[string][]string{}
	providers := map[string][]string{}
	if f, err := os.Open(filepath.Join(openrc, "deptree")); err == nil {
		names := map[string]string{}
		type dep struct{ idx, kind, val string }
		var all []dep
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			m := depLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			if m[2] == "service" {
				names[m[1]] = m[3]
			} else {
				all = append(all, dep{m[1], m[2], m[3]})
			}
		}
		f.Close()
		for _, d := range all {
			svc := names[d.idx]
			if d.kind == "iprovide" {
				providers[d.val] = append(providers[d.val], svc)
			} else {
				deps[svc] = append(deps[svc], d.val)
			}
		}
	}
	queue := sortedKeys(declared)
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, d := range append(deps[s], providers[s]...) {
			if !declared[d] {
				declared[d] = true
				queue = append(queue, d)
			}
		}
	}
	var out []ServiceDrift
	for _, e := range entries {
		if !declared[e.Name()] {
			out = append(out, ServiceDrift{Name: e.Name(), Why: "started, but in no runlevel of the generation and needed by none of its services"})
		}
	}
	return out, nil
}
