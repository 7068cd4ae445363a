// Package testutil holds helpers shared by cairn's tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding cairn's go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Fixtures returns the path of ../shared/fixtures beside the project, the
// real Alpine data the tests agree with. A missing fixture directory is a
// failure, not a skip: every machine that runs the tests has it.
func Fixtures(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "..", "shared", "fixtures")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("fixtures: %v (../shared must sit beside the project)", err)
	}
	return dir
}

// InCI reports whether the tests run in CI, where a missing prerequisite
// must fail a test instead of skipping it.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require stops the test when a prerequisite is missing: a failure in CI,
// a skip elsewhere.
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("prerequisite missing: %s", what)
	}
	t.Skipf("prerequisite missing: %s", what)
}

// SplitArgs splits text into arguments the way xargs does: on white space,
// with single and double quotes grouping and backslash escaping.
func SplitArgs(text string) []string {
	var args []string
	var cur []byte
	inArg := false
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur = append(cur, c)
			}
		case c == '\'' || c == '"':
			quote = c
			inArg = true
		case c == '\\' && i+1 < len(text):
			i++
			cur = append(cur, text[i])
			inArg = true
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args = append(args, string(cur))
				cur, inArg = cur[:0], false
			}
		default:
			cur = append(cur, c)
			inArg = true
		}
	}
	if inArg {
		args = append(args, string(cur))
	}
	return args
}
