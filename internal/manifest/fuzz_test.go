package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text to the parser: it must never panic, a
// rejected manifest must come with positioned problems, and an accepted
// one must stay valid through ApplyDefaults and have a digest.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	more, _ := filepath.Glob("testdata/include/*/*.yaml")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Includes resolve against a fixed set of files, never the disk.
	read := memFiles(map[string]string{
		"base.yaml": header + repo + "packages: [alpine-base]\nusers: [{name: admin}]\n",
		"bad.yaml":  header + "hostname: x_y\n",
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parse("fuzz.yaml", data, read)
		if err != nil {
			if s != nil {
				t.Fatal("a System returned with an error")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, not Errors: %v", err, err)
			}
			checkPositions(t, err)
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate refuses: %v", err)
		}
		d := s.Digest()
		s.ApplyDefaults()
		if err := s.Validate(); err != nil {
			t.Fatalf("invalid after ApplyDefaults: %v", err)
		}
		if s.Digest() != d {
			t.Fatal("ApplyDefaults changed the digest")
		}
	})
}
