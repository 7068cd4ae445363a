package solver

import (
	"io"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

// AddIndex reads an APKINDEX text stream into the DB as repository number
// repo and returns how many packages it held. This is the compact path for
// large repositories: records are parsed straight into the DB, and of a
// package with files only what choosing and installing it needs is kept
// (Pkg's fields); installing it reads the rest from the package itself.
func (db *DB) AddIndex(r io.Reader, repo int) (int, error) {
	var (
		deps []Dep
		pkgs []Pkg
		n    int
	)
	takeDeps := func(k int) []Dep {
		if k == 0 {
			return nil
		}
		if k > len(deps) {
			deps = make([]Dep, max(k, 4096))
		}
		out := deps[:k:k]
		deps = deps[k:]
		return out
	}
	// Copying versions out of the record lets each record's text be freed
	// once it is parsed.
	version := db.strings.copy
	parse := func(raw string) []Dep {
		out := takeDeps(countTokens(raw))
		i := 0
		// Like apk, keep the entries before one that does not parse.
		apk.EachDependency(raw, func(d apk.Dependency) {
			out[i] = db.ResolveDep(d)
			out[i].Version = version(out[i].Version)
			i++
		})
		return out[:i:i]
	}
	intern := map[string]string{}
	internBytes := func(field byte, b []byte) string {
		if field == 'P' {
			// Package names are the DB's names.
			if nm := db.names.lookupBytes(b); nm != nil {
				return nm.Name
			}
			return db.GetName(string(b)).Name
		}
		// Arches repeat across packages.
		if s, ok := intern[string(b)]; ok {
			return s
		}
		s := string(b)
		intern[s] = s
		return s
	}
	db.deferProviders = true
	defer db.flushProviders()
	err := apk.ScanIndex(r, apk.ScanOptions{DropDescriptive: true, Intern: internBytes, Transient: true}, func(info *apk.Package, raw apk.RawDeps) error {
		if len(pkgs) == 0 {
			pkgs = make([]Pkg, 256)
		}
		pkg := &pkgs[0]
		pkgs = pkgs[1:]
		pkg.Name = db.GetName(info.Name)
		pkg.setFields(info)
		pkg.Version = version(info.Version)
		pkg.Depends = parse(raw.Depends)
		pkg.Provides = parse(raw.Provides)
		pkg.InstallIf = parse(raw.InstallIf)
		if info.InstalledSize == 0 {
			// Meta packages are never unpacked: their installed record
			// comes from the index. Copy it off the scanner's block.
			meta := *info
			meta.Name = pkg.Name.Name
			meta.Version = pkg.Version
			meta.Description = strings.Clone(meta.Description)
			meta.URL = strings.Clone(meta.URL)
			meta.Maintainer = strings.Clone(meta.Maintainer)
			meta.Commit = strings.Clone(meta.Commit)
			meta.License = strings.Clone(meta.License)
			meta.Origin = strings.Clone(meta.Origin)
			meta.Depends = exportDeps(pkg.Depends)
			meta.Provides = exportDeps(pkg.Provides)
			meta.InstallIf = exportDeps(pkg.InstallIf)
			pkg.meta = &meta
		}
		pkg.Repos = 1 << uint(repo)
		db.addPkg(pkg)
		n++
		return nil
	})
	return n, err
}

func countTokens(s string) int {
	n := 0
	in := false
	for i := 0; i < len(s); i++ {
		sep := s[i] == ' ' || s[i] == '\n'
		if !sep && !in {
			n++
		}
		in = !sep
	}
	return n
}
