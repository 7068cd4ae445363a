package e2etest

import (
	"os"
	"sync"
	"testing"
)

// The boot tests of one test binary share what takes time to make and
// never changes: the cairn binaries and the signed repositories. Share
// (called by TestMain) turns that on; without it every test makes its
// own, in its own temporary directory.
var shared struct {
	mu     sync.Mutex
	dir    string // "" when not sharing
	cairn  string
	repo   *Repo
	alpine *AlpineRepo
}

// Share makes Binaries, MakeRepo and MakeAlpineRepo build once for the
// whole test binary, into a directory that the returned function
// removes: TestMain calls it around m.Run. Nothing a test does changes
// the binaries or the repositories (tests write their manifests and
// stores elsewhere), so sharing them hides nothing.
func Share() (cleanup func()) {
	dir, err := os.MkdirTemp("", "cairn-e2e-shared-")
	if err != nil {
		panic(err)
	}
	shared.mu.Lock()
	shared.dir = dir
	shared.mu.Unlock()
	return func() { os.RemoveAll(dir) }
}

// sharedDir returns a new directory under the shared one, or the test's
// own temporary directory when nothing is shared.
func sharedDir(t testing.TB) string {
	t.Helper()
	if shared.dir == "" {
		return t.TempDir()
	}
	d, err := os.MkdirTemp(shared.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
