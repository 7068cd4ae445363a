package layers

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// imports runs go list -deps over the module (with the overlay file, when
// given) and returns each of the module's packages with the module's
// packages it imports (not its tests').
func imports(t *testing.T, overlay string) map[string][]string {
	t.Helper()
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.Command("go", append(args, Module+"/...")...)
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		from, ok := strings.CutPrefix(f[0], Module+"/")
		if !ok {
			continue // the standard library and other modules
		}
		graph[from] = nil
		for _, imp := range f[1:] {
			if to, ok := strings.CutPrefix(imp, Module+"/"); ok {
				graph[from] = append(graph[from], to)
			}
		}
	}
	return graph
}

func moduleRoot(t *testing.T) string {
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod two levels up: %v", err)
	}
	return dir
}

// TestLayers holds every import of cairn's packages against the layers.
func TestLayers(t *testing.T) {
	graph := imports(t, "")
	if len(graph["cmd/cairn"]) == 0 || len(graph["internal/rootfs"]) != 0 {
		t.Fatalf("go list's graph looks wrong: cmd/cairn imports %v, internal/rootfs %v", graph["cmd/cairn"], graph["internal/rootfs"])
	}
	for _, v := range Check(graph) {
		t.Error(v)
	}
	// Every package a layer names exists: the table follows the code.
	for _, l := range Layers {
		for _, p := range l.Packages {
			if _, ok := graph[p]; !ok {
				t.Errorf("layer %q names %s, which go list does not know", l.Name, p)
			}
		}
	}
}

// TestUpwardImportFails adds, through go list's overlay, a file to
// cairn-init's package that imports the store (a layer above it: cairn-init
// must not link the store's code) and shows the check refuses it.
func TestUpwardImportFails(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "upward.go")
	if err := os.WriteFile(src, []byte("package cairninit\n\nimport _ \""+Module+"/internal/store\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(moduleRoot(t), "internal/initramfs/cairninit/zz_upward_overlay.go")
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	got := Check(imports(t, overlayFile))
	want := "internal/initramfs/cairninit (cairn-init) imports internal/store, a layer above it (boot entries and store)"
	if len(got) != 1 || got[0] != want {
		t.Errorf("violations %q, want only %q", got, want)
	}
}

// TestCheck: the rules on small graphs.
func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name  string
		graph map[string][]string
		want  []string
	}{
		{"down", map[string][]string{"internal/node": {"internal/store", "internal/layout"}}, nil},
		{"up", map[string][]string{"internal/layout": {"internal/node"}},
			[]string{"internal/layout (on-disk contracts and leaf helpers) imports internal/node, a layer above it (operations on a node)"}},
		{"within allowed", map[string][]string{"internal/boot": {"internal/store"}}, nil},
		{"within refused", map[string][]string{"internal/store": {"internal/boot"}},
			[]string{"internal/store imports internal/boot of its own layer (boot entries and store), which internal/layers does not allow"}},
		{"unknown", map[string][]string{"internal/nowhere": nil},
			[]string{"internal/nowhere is in no layer: add it to one in internal/layers (docs/architecture.md says which)"}},
		{"helper imported", map[string][]string{"internal/store": {"internal/btrfs/btrfstest"}},
			[]string{"internal/store imports the test helper internal/btrfs/btrfstest"}},
		{"helper imports", map[string][]string{"internal/store/storetest": {"internal/cli"}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Check(c.graph)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// terminalFiles may use the process's standard streams: they are
// programs of their own (the helpers cairn re-executes itself as, and
// cairn-init, whose console is the kernel's).
var terminalFiles = map[string]bool{
	"internal/reexec/reexec.go":                     true,
	"internal/sandbox/sandbox_linux.go":             true,
	"internal/nosync/nosync_linux.go":               true,
	"internal/initramfs/cairninit/machine_linux.go": true,
}

// terminalImports are the packages that know a terminal.
var terminalImports = []string{"golang.org/x/term", "github.com/spf13/cobra", "github.com/spf13/pflag", "github.com/mattn/go-isatty"}

// TestOnlyTheCommandLineKnowsTheTerminal: outside cmd/ and internal/cli
// (and the programs of their own in terminalFiles, main packages and test
// helpers), no code imports a terminal package or writes to the process's
// standard streams; what a package has to say it returns or writes to the
// writer it is given.
func TestOnlyTheCommandLineKnowsTheTerminal(t *testing.T) {
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Name}} {{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .IgnoredGoFiles}} {{.}}{{end}}", Module+"/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], Module+"/")
		if f[1] == "main" || strings.HasPrefix(pkg, "cmd/") || pkg == "internal/cli" || IsTestHelper(pkg) {
			continue
		}
		for _, name := range f[3:] {
			rel := filepath.ToSlash(filepath.Join(pkg, name))
			if strings.HasSuffix(name, "_test.go") || terminalFiles[rel] {
				continue
			}
			checked++
			for _, problem := range terminalUse(t, filepath.Join(f[2], name)) {
				t.Errorf("%s: %s (only cmd/ and internal/cli know the terminal)", rel, problem)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d files checked", checked)
	}
}

func terminalUse(t *testing.T, file string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	// What writes to the process's standard streams, by package.
	streams := map[string][]string{
		"os":  {"Stdin", "Stdout", "Stderr"},
		"fmt": {"Print", "Printf", "Println"},
		"log": {"Print", "Printf", "Println", "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln"},
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		for _, ti := range terminalImports {
			if path == ti || strings.HasPrefix(path, ti+"/") {
				out = append(out, "imports "+path)
			}
		}
		name := path
		if imp.Name != nil {
			name = imp.Name.Name
		}
		for _, sym := range streams[path] {
			if uses(f, name, sym) {
				out = append(out, "uses "+path+"."+sym)
			}
		}
	}
	return out
}

// uses reports whether f mentions pkg.name.
func uses(f *ast.File, pkg, name string) bool {
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == pkg && sel.Sel.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// TestTerminalUseFound: the check finds each way to reach the terminal.
func TestTerminalUseFound(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.go")
	src := `package x

import (
	"fmt"
	stdlog "log"
	"os"

	"golang.org/x/term"
)

func f() {
	fmt.Println("hello")
	fmt.Fprintln(os.Stderr, term.IsTerminal(0))
	stdlog.Printf("x")
	fmt.Fprintf(nil, "not a stream")
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(terminalUse(t, file), "; ")
	want := "uses fmt.Println; uses log.Printf; uses os.Stderr; imports golang.org/x/term"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
