package manifest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and schema/system.schema.json")

// caseFiles are the manifests of the golden tests: testdata/valid and
// testdata/invalid, and the top manifest of each testdata/include case.
func caseFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/invalid/*.yaml", "testdata/include/*/system.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no test manifests")
	}
	return files
}

// wantValid says whether a case must parse: cases under valid/ and the
// include cases named as valid below.
func wantValid(file string) bool {
	if strings.HasPrefix(file, filepath.Join("testdata", "valid")) {
		return true
	}
	switch filepath.Base(filepath.Dir(file)) {
	case "basic", "diamond", "nested", "tenant":
		return true
	}
	return false
}

// render is what a golden file holds: the problems, one per line, or the
// parsed manifest in its canonical form.
func render(t *testing.T, s *System, err error) []byte {
	t.Helper()
	if err != nil {
		return []byte(err.Error() + "\n")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(canonical(reflect.ValueOf(s))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/manifest -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test ./internal/manifest -update after checking the change)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func TestParseGolden(t *testing.T) {
	for _, file := range caseFiles(t) {
		t.Run(file, func(t *testing.T) {
			s, err := Load(file)
			if wantValid(file) != (err == nil) {
				t.Errorf("valid = %v, want %v; error:\n%v", err == nil, wantValid(file), err)
			}
			if err != nil {
				checkPositions(t, err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", render(t, s, err))
		})
	}
}

// checkPositions checks that every problem of a parsed manifest names a
// file and a line.
func checkPositions(t testing.TB, err error) {
	t.Helper()
	errs, ok := err.(Errors)
	if !ok {
		t.Fatalf("error is %T, not Errors: %v", err, err)
	}
	if len(errs) == 0 {
		t.Fatal("empty Errors returned as an error")
	}
	for _, e := range errs {
		if e.File == "" || e.Line < 1 {
			t.Errorf("problem without a position: %#v", e)
		}
		if e.Msg == "" {
			t.Errorf("problem without a message: %#v", e)
		}
	}
}
