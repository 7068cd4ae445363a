package manifest

import (
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestExamples checks that every manifest in examples/ validates, also
// once completed with defaults.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("want at least 3 examples, found %v", files)
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			s, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			s.ApplyDefaults()
			if err := s.Validate(); err != nil {
				t.Fatalf("after ApplyDefaults: %v", err)
			}
		})
	}
}
