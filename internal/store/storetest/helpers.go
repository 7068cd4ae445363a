package storetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

// Tree is file content by slash path; a path ending in "/" is a
// directory, content starting with "->" a symbolic link.
type Tree map[string]string

// New makes a store of backend b, locked for writing until the test ends.
func New(t *testing.T, b Backend) *store.Store {
	t.Helper()
	dir := b.Dir(t)
	opts := b.Options
	opts.Backend = b.Name
	s, err := store.Init(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	Lock(t, s)
	return s
}

// Lock takes s's writer lock until the test ends.
func Lock(t testing.TB, s *store.Store) {
	t.Helper()
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
}

// Write creates tree under dir.
func Write(t testing.TB, dir string, tree Tree) {
	t.Helper()
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		content := tree[p]
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(p, "/"):
			err = os.MkdirAll(full, 0o755)
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(strings.TrimPrefix(content, "->"), full)
		default:
			err = os.WriteFile(full, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Check fails the test unless dir holds exactly tree.
func Check(t testing.TB, dir string, tree Tree) {
	t.Helper()
	got := Tree{}
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, dir+string(filepath.Separator)))
		switch {
		case fi.IsDir():
			got[rel+"/"] = ""
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			got[rel] = "->" + target
		default:
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			got[rel] = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Tree{}
	for p, c := range tree {
		want[p] = c
		// Parent directories are implied.
		for d := filepath.Dir(strings.TrimSuffix(p, "/")); d != "."; d = filepath.Dir(d) {
			want[d+"/"] = ""
		}
	}
	for p, c := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("%s: missing %s", dir, p)
		} else if g != c {
			t.Errorf("%s: %s = %q, want %q", dir, p, g, c)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected %s", dir, p)
		}
	}
}

// Build stages tree and seals it with meta.
func Build(t testing.TB, s *store.Store, tree Tree, meta store.Meta) store.Generation {
	t.Helper()
	st, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	Write(t, st.Dir(), tree)
	g, err := st.Seal(meta)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Numbers returns the numbers of s's generations.
func Numbers(t testing.TB, s *store.Store) []int {
	t.Helper()
	gens, err := s.Generations()
	if err != nil {
		t.Fatal(err)
	}
	nums := []int{}
	for _, g := range gens {
		nums = append(nums, g.Number)
	}
	return nums
}

// ReadOnly fails the test if anything can be created, removed or
// rewritten in the generation at path (path/etc must be a directory and
// path/etc/hostname a file).
func ReadOnly(t testing.TB, path string) {
	t.Helper()
	attempts := map[string]func() error{
		"create at the top": func() error { return os.WriteFile(filepath.Join(path, "new"), nil, 0o644) },
		"create below":      func() error { return os.WriteFile(filepath.Join(path, "etc", "new"), nil, 0o644) },
		"rewrite a file":    func() error { return os.WriteFile(filepath.Join(path, "etc", "hostname"), []byte("x"), 0o644) },
		"remove a file":     func() error { return os.Remove(filepath.Join(path, "etc", "hostname")) },
		"rename a dir":      func() error { return os.Rename(filepath.Join(path, "etc"), filepath.Join(path, "etc2")) },
	}
	for what, try := range attempts {
		if err := try(); err == nil {
			t.Errorf("%s in sealed generation %s succeeded", what, path)
		}
	}
}

// Equal reports whether two files have the same content.
func Equal(t testing.TB, a, b string) bool {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(da, db)
}
