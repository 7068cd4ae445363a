package state

import (
	"fmt"
	"path/filepath"
	"strings"
)

// SeedChanges warns about the seeds that the generation at newRoot
// changes but a node will not get: the node's persistent state
// (persistDir maps a persistent directory to where the node keeps it)
// already has the file, different from the new version, and the new
// version differs from the one the generation at oldRoot declared ("" for
// none) — a seed that did not change is the node's business. Each
// warning names the file and what to do.
func SeedChanges(newRoot, oldRoot string, persistDir func(string) string) ([]string, error) {
	decl, err := ReadDeclared(newRoot)
	if err != nil {
		return nil, err
	}
	persist, err := ReadPersistList(newRoot)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range decl.Files {
		if e.State != Seed {
			continue
		}
		top := PersistRoot(persist, e.Path)
		if top == "" {
			continue
		}
		have := filepath.Join(persistDir(top), strings.TrimPrefix(strings.TrimPrefix(e.Path, top), "/"))
		next := filepath.Join(newRoot, DeclaredDir, e.Path)
		if how, err := Differs(next, have); err != nil || how == "" || how == "missing" {
			continue // the node has none (it gets this one), or the same
		}
		if oldRoot != "" {
			if same, err := Same(filepath.Join(oldRoot, DeclaredDir, e.Path), next); err == nil && same {
				continue
			}
		}
		out = append(out, fmt.Sprintf("seed %s (%s) changes, but the node already has its own, which stays: make it managed (state: managed) to have the generation's version put in place, or change it on the node", e.Path, e.From))
	}
	return out, nil
}
