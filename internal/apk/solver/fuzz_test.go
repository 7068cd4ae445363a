package solver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// A random repository for the solver, made from the fuzzer's bytes: a
// package for each of six names and up to nine more versions, with
// dependencies (mostly plain, some with versions, a few conflicts) and
// virtual provides; about half of the random worlds are satisfiable.
type fuzzPkg struct {
	name, version string
	depends       []fuzzDep
	provides      []fuzzDep // version "" for a virtual provide
}

type fuzzDep struct {
	name     string
	op       string // "", ">=", "<", "="
	version  string
	conflict bool
}

func (d fuzzDep) String() string {
	s := d.name + d.op + d.version
	if d.conflict {
		s = "!" + s
	}
	return s
}

var (
	fuzzNames    = []string{"a", "b", "c", "d", "e", "f"}
	fuzzVirtual  = []string{"v1", "v2"}
	fuzzVersions = []string{"1-r0", "2-r0", "3-r0"}
)

// byteSource hands out the fuzzer's bytes, zeros when they run out.
type byteSource struct{ b []byte }

func (s *byteSource) next(n int) int {
	if len(s.b) == 0 {
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	return v % n
}

func (s *byteSource) dep(self string) fuzzDep {
	all := append(append([]string(nil), fuzzNames...), fuzzVirtual[0])
	d := fuzzDep{name: all[s.next(len(all))]}
	for d.name == self {
		d.name = all[s.next(len(all))]
		if len(s.b) == 0 && d.name == self {
			d.name = "f"
			if self == "f" {
				d.name = "a"
			}
		}
	}
	switch s.next(16) {
	case 9, 10:
		d.op = ">="
	case 11:
		d.op = "<"
	case 12:
		d.op = "="
	case 13:
		d.conflict = true
	}
	if d.op != "" {
		d.version = fuzzVersions[s.next(len(fuzzVersions))]
	}
	return d
}

func fuzzRepo(data []byte) (pkgs []fuzzPkg, world []fuzzDep) {
	s := &byteSource{b: data}
	seen := map[string]bool{}
	add := func(name string) {
		p := fuzzPkg{name: name, version: fuzzVersions[s.next(len(fuzzVersions))]}
		for range s.next(4) {
			p.depends = append(p.depends, s.dep(p.name))
		}
		for range s.next(4) / 2 {
			v := fuzzDep{name: fuzzVirtual[s.next(len(fuzzVirtual))]}
			if s.next(2) == 1 {
				v.op, v.version = "=", fuzzVersions[s.next(len(fuzzVersions))]
			}
			p.provides = append(p.provides, v)
		}
		if !seen[p.name+"-"+p.version] {
			seen[p.name+"-"+p.version] = true
			pkgs = append(pkgs, p)
		}
	}
	// Every name has a package; some have more versions.
	for _, name := range fuzzNames {
		add(name)
	}
	for range s.next(10) {
		add(fuzzNames[s.next(len(fuzzNames))])
	}
	for range 1 + s.next(3) {
		world = append(world, s.dep(""))
	}
	return pkgs, world
}

func fuzzIndex(pkgs []fuzzPkg) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "P:%s\nV:%s\nA:x86_64\nS:1\nI:1\nT:fuzz\n", p.name, p.version)
		if len(p.depends) > 0 {
			b.WriteString("D:" + joinDeps(p.depends) + "\n")
		}
		if len(p.provides) > 0 {
			b.WriteString("p:" + joinDeps(p.provides) + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func joinDeps(ds []fuzzDep) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, " ")
}

// solveFuzz loads the index into a fresh DB and solves world.
func solveFuzz(t *testing.T, index string, world []fuzzDep) (installed []string, nerr int, report string) {
	t.Helper()
	db := solver.NewDB()
	if _, err := db.AddIndex(strings.NewReader(index), solver.RepoFirstConfigured); err != nil {
		t.Fatalf("index does not load: %v\n%s", err, index)
	}
	db.AvailableRepos |= 1 << solver.RepoFirstConfigured
	db.Tags[0].AllowedRepos |= 1 << solver.RepoFirstConfigured
	db.CompleteOpen()
	var w []solver.Dep
	for _, d := range world {
		dep, err := apk.ParseDependency(d.String())
		if err != nil {
			t.Fatalf("world %s: %v", d, err)
		}
		w = append(w, db.ResolveDep(dep))
	}
	cs, nerr := db.Solve(0, w)
	if nerr > 0 {
		// Rendered as apk renders it.
		return nil, nerr, "ERROR: unable to select packages:\n" + db.Unsatisfiable(cs, w, 0).Report
	}
	for _, c := range cs.Changes {
		if c.Old != nil {
			t.Fatalf("a change of an empty root removes %s", c.Old.NameVersion())
		}
		if c.New != nil {
			installed = append(installed, c.New.NameVersion())
		}
	}
	return installed, 0, ""
}

// provided says whether p provides d's name in a version d accepts
// (apk's rules: a virtual provide only meets a dependency without a
// version).
func provided(p fuzzPkg, d fuzzDep) bool {
	match := func(version string) bool {
		if d.op == "" {
			return true
		}
		if version == "" {
			return false
		}
		r := apk.CompareVersions(version, d.version)
		switch d.op {
		case ">=":
			return r == apk.VersionGreater || r == apk.VersionEqual
		case "<":
			return r == apk.VersionLess
		}
		return r == apk.VersionEqual
	}
	if p.name == d.name && match(p.version) {
		return true
	}
	for _, v := range p.provides {
		if v.name == d.name && match(v.version) {
			return true
		}
	}
	return false
}

// FuzzSolve solves random repositories and checks what any answer must
// be: every dependency of the world and of each chosen package is met by
// a chosen package, no conflict is, one version per package name, and the
// same input gives the same answer again. An unsatisfiable world gets an
// error report.
func FuzzSolve(f *testing.F) {
	f.Add([]byte{3, 0, 0, 1, 1, 0, 1, 2, 1, 0})
	f.Add([]byte{5, 0, 1, 2, 1, 4, 2, 1, 1, 0, 1, 1, 0, 2, 0, 3, 7, 0, 0, 1, 0, 0, 5, 0})
	f.Add([]byte{11, 0, 2, 3, 6, 4, 0, 7, 1, 2, 1, 1, 2, 0, 0, 1, 6, 5, 2, 2, 3, 1, 0, 3, 0, 0, 4, 2, 1, 6, 1, 0, 5, 1, 2, 2, 7, 1, 6, 4, 2, 0, 0, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, world := fuzzRepo(data)
		index := fuzzIndex(pkgs)
		installed, nerr, report := solveFuzz(t, index, world)
		again, nerr2, _ := solveFuzz(t, index, world)
		if nerr != nerr2 || strings.Join(installed, " ") != strings.Join(again, " ") {
			t.Fatalf("two solves differ: %v (%d errors) and %v (%d errors)\nworld %s\n%s", installed, nerr, again, nerr2, joinDeps(world), index)
		}
		if nerr > 0 {
			if !strings.Contains(report, "ERROR: unable to select packages") {
				t.Fatalf("%d errors, report:\n%s", nerr, report)
			}
			return
		}
		chosen := map[string]fuzzPkg{}
		for _, nv := range installed {
			for _, p := range pkgs {
				if p.name+"-"+p.version == nv {
					if _, dup := chosen[p.name]; dup {
						t.Fatalf("two versions of %s chosen: %v\n%s", p.name, installed, index)
					}
					chosen[p.name] = p
				}
			}
		}
		met := func(d fuzzDep) bool {
			for _, p := range chosen {
				if provided(p, fuzzDep{name: d.name, op: d.op, version: d.version}) {
					return !d.conflict
				}
			}
			return d.conflict
		}
		for _, d := range world {
			if !met(d) {
				t.Fatalf("world %s not met by %v\nworld %s\n%s", d, installed, joinDeps(world), index)
			}
		}
		for _, p := range chosen {
			for _, d := range p.depends {
				if !met(d) {
					t.Fatalf("%s-%s: %s not met by %v\nworld %s\n%s", p.name, p.version, d, installed, joinDeps(world), index)
				}
			}
		}
	})
}
