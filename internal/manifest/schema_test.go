package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestSchemaFile fails when schema/system.schema.json is not what Schema
// generates: run go generate ./internal/manifest (or this test with
// -update) after changing the types.
func TestSchemaFile(t *testing.T) {
	path := filepath.Join(testutil.ModuleRoot(t), "schema", "system.schema.json")
	got := Schema()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go generate ./internal/manifest)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("schema/system.schema.json is stale: run go generate ./internal/manifest")
	}
	if !bytes.Equal(Schema(), got) {
		t.Fatal("Schema is not deterministic")
	}
}

func loadSchema(t testing.TB) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

// schemaPaths lists the key paths the schema allows, as docs/manifest.md
// names them: alpine.repositories[].url, services.define.<name>.command,
// services.<runlevel>.
func schemaPaths(t testing.TB, root map[string]any) []string {
	t.Helper()
	var paths []string
	var walk func(s map[string]any, path string)
	walk = func(s map[string]any, path string) {
		s = resolve(t, root, s)
		if props, ok := s["properties"].(map[string]any); ok {
			for name, p := range props {
				child := name
				if path != "" {
					child = path + "." + name
				}
				paths = append(paths, child)
				walk(p.(map[string]any), child)
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(items, path+"[]")
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			if title, ok := ap["title"].(string); ok {
				child := path + ".<" + title + ">"
				paths = append(paths, child)
				walk(ap, child)
			} else {
				walk(ap, path+".<name>")
			}
		}
	}
	walk(root, "")
	slices.Sort(paths)
	return paths
}

func resolve(t testing.TB, root, s map[string]any) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		def, ok := root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		if !ok {
			t.Fatalf("dangling $ref %s", ref)
		}
		return def
	}
	return s
}

func TestSchemaShape(t *testing.T) {
	root := loadSchema(t)
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", root["$schema"])
	}
	// alpine is required too, but an included manifest may give it: the
	// schema sees one file, validation the merged manifest.
	if got := fmt.Sprint(root["required"]); got != "[apiVersion kind]" {
		t.Errorf("required = %s", got)
	}
	paths := schemaPaths(t, root)
	for _, want := range []string{"alpine.repositories[].url", "services.<runlevel>", "services.define.<name>.respawn.delay", "users[].sshAuthorizedKeys", "network.iwd"} {
		if !slices.Contains(paths, want) {
			t.Errorf("schema lacks %s", want)
		}
	}
	for name, def := range root["$defs"].(map[string]any) {
		d := def.(map[string]any)
		if d["type"] != "object" || d["additionalProperties"] == nil {
			t.Errorf("$defs.%s is not a closed object: %v", name, d)
		}
		for key, p := range d["properties"].(map[string]any) {
			if p.(map[string]any)["description"] == nil {
				t.Errorf("%s.%s has no description (doc tag)", name, key)
			}
		}
	}
}

// TestSchemaAgreesWithParser checks manifests against the schema with a
// small validator for the keywords the generator uses: what the parser
// accepts, the schema accepts, and a manifest with unknown keys or wrong
// types fails both.
func TestSchemaAgreesWithParser(t *testing.T) {
	root := loadSchema(t)
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	examples, _ := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*", "*.yaml"))
	for _, file := range append(files, examples...) {
		if problems := checkAgainstSchema(t, root, file); len(problems) > 0 {
			t.Errorf("%s does not match the schema:\n%s", file, strings.Join(problems, "\n"))
		}
	}
	for _, file := range []string{"testdata/invalid/unknown-keys.yaml", "testdata/invalid/wrong-types.yaml", "testdata/invalid/wrong-kind.yaml"} {
		if problems := checkAgainstSchema(t, root, file); len(problems) == 0 {
			t.Errorf("%s matches the schema", file)
		}
	}
}

func checkAgainstSchema(t *testing.T, root map[string]any, file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var problems []string
	var check func(s map[string]any, v any, path string)
	check = func(s map[string]any, v any, path string) {
		s = resolve(t, root, s)
		if c, ok := s["const"]; ok && c != v {
			problems = append(problems, fmt.Sprintf("%s: %v is not %v", path, v, c))
		}
		if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
			problems = append(problems, fmt.Sprintf("%s: %v not in %v", path, v, enum))
		}
		if str, ok := v.(string); ok {
			if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
				problems = append(problems, fmt.Sprintf("%s: %q does not match %s", path, str, p))
			}
		}
		if !typeMatches(s["type"], v) {
			problems = append(problems, fmt.Sprintf("%s: %T is not %v", path, v, s["type"]))
			return
		}
		switch v := v.(type) {
		case map[string]any:
			props, _ := s["properties"].(map[string]any)
			for _, r := range asList(s["required"]) {
				if _, ok := v[r.(string)]; !ok {
					problems = append(problems, fmt.Sprintf("%s: %s is required", path, r))
				}
			}
			for k, val := range v {
				if p, ok := props[k]; ok {
					check(p.(map[string]any), val, path+"."+k)
				} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
					check(ap, val, path+"."+k)
				} else {
					problems = append(problems, fmt.Sprintf("%s: %s is not allowed", path, k))
				}
			}
		case []any:
			for i, item := range v {
				check(s["items"].(map[string]any), item, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	check(root, doc, "")
	return problems
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func typeMatches(want, v any) bool {
	if want == nil {
		return true
	}
	if list, ok := want.([]any); ok {
		return slices.ContainsFunc(list, func(w any) bool { return typeMatches(w, v) })
	}
	switch v.(type) {
	case map[string]any:
		return want == "object"
	case []any:
		return want == "array"
	case string:
		return want == "string"
	case bool:
		return want == "boolean"
	case int:
		return want == "integer" || want == "number"
	case float64:
		return want == "number"
	case nil:
		return true // YAML's empty value: the parser reads it as unset
	}
	return false
}
