package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// testRepo is a plain-text index: a 1 and 2 depending on b, b 1, and c
// depending on a name nothing provides.
const testRepo = `C:Q1EyN5AdpAOBJWKMR89pp/C66o+OE=
P:a
V:1
S:1
I:1
D:b

C:Q1eVpkasfqZAukAXFYbgwt4xAMZWU=
P:a
V:2
S:1
I:1
D:b

C:Q1C4uoV7SdMdDhYg4OCVmI71D8HIA=
P:b
V:1
S:1
I:1

C:Q1hdUpqRv5mYgJEqW52UmVsvmy3XE=
P:c
V:1
S:1
I:1
D:nothing

`

func testEngine(t *testing.T, opts ...Option) *Engine {
	t.Helper()
	file := filepath.Join(t.TempDir(), "test.repo")
	if err := os.WriteFile(file, []byte(testRepo), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), append([]Option{WithTestMode(database.TestOptions{Repos: []string{file}})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func names(pkgs []*solver.Pkg) string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.NameVersion())
	}
	return strings.Join(out, " ")
}

func TestResolve(t *testing.T) {
	e := testEngine(t)
	res, err := e.Resolve(context.Background(), []string{"a"}, ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Packages); got != "b-1 a-2" {
		t.Errorf("packages %q, want b-1 a-2 (dependencies first)", got)
	}
	if strings.Join(res.World, " ") != "a" {
		t.Errorf("world %q", res.World)
	}
	if _, err := e.Resolve(context.Background(), []string{"a=="}, ResolveOptions{}); err == nil {
		t.Error("a bad dependency resolved")
	}
}

// TestUnsatisfiable: a world that cannot be satisfied is an error value
// carrying apk's report, and nothing is printed.
func TestUnsatisfiable(t *testing.T) {
	var out, warnings bytes.Buffer
	e := testEngine(t, WithOutput(&out, &warnings))
	_, err := e.Resolve(context.Background(), []string{"c"}, ResolveOptions{})
	var unsat *solver.UnsatisfiableError
	if !errors.As(err, &unsat) || !errors.Is(err, solver.ErrUnsatisfiable) {
		t.Fatalf("err = %v, want an *UnsatisfiableError", err)
	}
	want := "  nothing (no such package):\n    required by: c-1[nothing]\n"
	if unsat.Report != want {
		t.Errorf("report\n%s\nwant\n%s", unsat.Report, want)
	}
	if _, err := e.Install(context.Background(), InstallRequest{World: []string{"c"}}); !errors.As(err, &unsat) {
		t.Errorf("install: %v, want an *UnsatisfiableError", err)
	}
	if out.Len() != 0 || warnings.Len() != 0 {
		t.Errorf("printed %q and %q", out.String(), warnings.String())
	}
}

// TestInstall: Install adds to the world and returns what it installed
// (a simulation in test mode); WithRestrict hides packages from it.
func TestInstall(t *testing.T) {
	var out bytes.Buffer
	e := testEngine(t, WithOutput(&out, nil))
	got, err := e.Install(context.Background(), InstallRequest{World: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "b-1 a-2" {
		t.Errorf("installed %q", names(got))
	}
	if !strings.Contains(out.String(), "Installing a (2)") {
		t.Errorf("output %q", out.String())
	}
	old := testEngine(t, WithRestrict(func(p *solver.Pkg) bool { return p.Version != "2" }))
	got, err = old.Install(context.Background(), InstallRequest{Base: []string{}, World: []string{"a"}})
	if err != nil || names(got) != "b-1 a-1" {
		t.Errorf("restricted: %q, %v", names(got), err)
	}
}
