package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cairnlinux/cairn/internal/testutil"
)

var keyHeading = regexp.MustCompile("^### `([^`]+)`$")

// docSection is one key documented in docs/manifest.md.
type docSection struct {
	path     string
	examples []string
	line     int
}

func readDocs(t *testing.T) (intro string, sections []docSection) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "docs", "manifest.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cur *docSection
	var block *strings.Builder
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case block != nil && line == "```":
			if cur != nil {
				cur.examples = append(cur.examples, block.String())
			} else if intro == "" {
				intro = block.String()
			}
			block = nil
		case block != nil:
			block.WriteString(line + "\n")
		case line == "```yaml":
			block = &strings.Builder{}
		case strings.HasPrefix(line, "#"):
			cur = nil
			if m := keyHeading.FindStringSubmatch(line); m != nil {
				sections = append(sections, docSection{path: m[1], line: i + 1})
				cur = &sections[len(sections)-1]
			}
		}
	}
	return intro, sections
}

// TestDocsCoverSchema checks that docs/manifest.md documents every key of
// the schema, and nothing else, each with an example.
func TestDocsCoverSchema(t *testing.T) {
	_, sections := readDocs(t)
	var documented []string
	for _, s := range sections {
		if slices.Contains(documented, s.path) {
			t.Errorf("docs/manifest.md:%d: %s is documented twice", s.line, s.path)
		}
		documented = append(documented, s.path)
		if len(s.examples) == 0 {
			t.Errorf("docs/manifest.md:%d: %s has no example", s.line, s.path)
		}
	}
	schema := schemaPaths(t, loadSchema(t))
	for _, p := range schema {
		if !slices.Contains(documented, p) {
			t.Errorf("docs/manifest.md does not document %s: add a section \"### `%s`\" with an example", p, p)
		}
	}
	for _, s := range sections {
		if !slices.Contains(schema, s.path) {
			t.Errorf("docs/manifest.md:%d: %s is not a key of the manifest", s.line, s.path)
		}
	}
}

// TestDocsExamples checks that each example of a key reads strictly (no
// unknown keys or wrong types) and that the first example of the page is
// a valid manifest.
func TestDocsExamples(t *testing.T) {
	intro, sections := readDocs(t)
	if _, err := Parse("docs/manifest.md", []byte(intro)); err != nil {
		t.Errorf("the first example of docs/manifest.md is not valid:\n%v", err)
	}
	for _, s := range sections {
		for _, ex := range s.examples {
			root, errs := readDocument("example", []byte(ex))
			if errs == nil {
				var scratch System
				dec := newDecoder(func(*yaml.Node) string { return "example" }, nil)
				dec.value(root, root, reflect.ValueOf(&scratch).Elem(), "")
				errs = dec.errs
			}
			if errs != nil {
				t.Errorf("docs/manifest.md:%d: the example of %s does not read:\n%v\n%s", s.line, s.path, errs, ex)
			}
		}
	}
}
