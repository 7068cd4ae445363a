package compose

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/state"
)

// Declared records the files the manifest declares under /var and its
// persist paths (inline files, the skeleton's files, artifacts), each
// managed or a seed, in the tree at root (state.WriteDeclared): the
// persistent directories hide those paths at boot, so cairn-init puts
// them in place from this record (docs/state.md). Run it after the setup
// scripts: what is recorded is the file the generation ends up with.
func Declared(root, manifestDir string, sys *manifest.System, mtime time.Time) error {
	persist := Persisted(sys)
	var entries []state.Entry
	add := func(p, st, from string) {
		if state.PersistRoot(persist, p) == "" {
			return
		}
		if st == "" {
			st = state.Managed
		}
		entries = append(entries, state.Entry{Path: p, State: st, From: from})
	}
	// The skeleton first, the inline files over it (as Files writes
	// them).
	if sk := sys.Files.Skeleton; sk != "" {
		src, err := manifest.ResolveLocal(manifestDir, sk)
		if err != nil {
			return fmt.Errorf("files.skeleton: %w", err)
		}
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(src, p)
			if err != nil {
				return err
			}
			abs := "/" + filepath.ToSlash(rel)
			st := state.Managed
			for _, s := range sys.Files.Seeds {
				if abs == s || (len(abs) > len(s) && abs[:len(s)+1] == s+"/") {
					st = state.Seed
				}
			}
			add(abs, st, "files.skeleton")
			return nil
		})
		if err != nil {
			return fmt.Errorf("files.skeleton: %w", err)
		}
	}
	for i, a := range sys.Artifacts {
		add(path.Clean(a.Path), a.State, fmt.Sprintf("artifacts[%d]", i))
	}
	for i, in := range sys.Files.Inline {
		add(path.Clean(in.Path), in.State, fmt.Sprintf("files.inline[%d]", i))
	}
	// A path declared twice (skeleton and inline) is the later one's.
	uniq := map[string]int{}
	var out []state.Entry
	for _, e := range entries {
		if i, ok := uniq[e.Path]; ok {
			out[i] = e
			continue
		}
		uniq[e.Path] = len(out)
		out = append(out, e)
	}
	return state.WriteDeclared(root, out, mtime)
}
