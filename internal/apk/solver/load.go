package solver

import (
	"io"

	"github.com/cairnlinux/cairn/internal/apk"
)

// AddIndex reads an APKINDEX text stream into the DB as repository number
// repo and returns how many packages it held. This is the compact path for
// large repositories: records are parsed straight into the DB, their
// descriptive fields (description, url, maintainer, commit) are dropped,
// and the packages' Info dependency lists stay nil — Pkg's own Depends,
// Provides and InstallIf are the parsed lists.
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
	parse := func(raw string) []Dep {
		out := takeDeps(countTokens(raw))
		i := 0
		// Like apk, keep the entries before one that does not parse.
		apk.EachDependency(raw, func(d apk.Dependency) {
			out[i] = db.ResolveDep(d)
			i++
		})
		return out[:i:i]
	}
	intern := map[string]string{}
	internBytes := func(b []byte) string {
		if s, ok := intern[string(b)]; ok {
			return s
		}
		// Package names are the DB's names; other values (arch, license,
		// origin) repeat across packages.
		if nm := db.names.lookupBytes(b); nm != nil {
			return nm.Name
		}
		s := string(b)
		intern[s] = s
		return s
	}
	db.deferProviders = true
	defer db.flushProviders()
	err := apk.ScanIndex(r, apk.ScanOptions{DropDescriptive: true, Intern: internBytes}, func(info *apk.Package, raw apk.RawDeps) error {
		if len(pkgs) == 0 {
			pkgs = make([]Pkg, 256)
		}
		pkg := &pkgs[0]
		pkgs = pkgs[1:]
		pkg.Name = db.GetName(info.Name)
		info.Name = pkg.Name.Name
		pkg.Info = info
		pkg.Depends = parse(raw.Depends)
		pkg.Provides = parse(raw.Provides)
		pkg.InstallIf = parse(raw.InstallIf)
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
