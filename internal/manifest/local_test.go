package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolveLocal(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	for _, d := range []string{"root/etc", "keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"out":           outside,
		"root/etc/up":   "../../../",
		"inside":        "root",
		"root/etc/self": ".",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path    string
		want    string // "" for an OutsideError
		lexical bool
	}{
		{"root", filepath.Join(dir, "root"), false},
		{"./keys/", filepath.Join(dir, "keys"), false},
		{"inside/etc", filepath.Join(dir, "root/etc"), false},
		{"root/etc/self/self", filepath.Join(dir, "root/etc"), false},
		{"missing/file", filepath.Join(dir, "missing/file"), false},
		{"/etc/apk/keys", "/etc/apk/keys", false},
		{"../x", "", true},
		{"root/../../x", "", true},
		{"out", "", false},
		{"out/sub", "", false},
		{"root/etc/up", "", false},
	} {
		got, err := ResolveLocal(dir, tc.path)
		var oe *OutsideError
		switch {
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("ResolveLocal(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		case tc.want == "" && !errors.As(err, &oe):
			t.Errorf("ResolveLocal(%q) = %q, %v; want an OutsideError", tc.path, got, err)
		case tc.want == "" && (oe.Target == "") != tc.lexical:
			t.Errorf("ResolveLocal(%q): %v; lexical %v", tc.path, err, tc.lexical)
		}
	}
}
