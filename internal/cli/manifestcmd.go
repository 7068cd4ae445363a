package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/compose"
	"github.com/cairnlinux/cairn/internal/store"
)

// ManifestOptions are the options of `cairn manifest`.
type ManifestOptions struct {
	Store StoreOptions
	List  bool
	JSON  bool
}

func newManifestCommand(g *Globals) *cobra.Command {
	o := &ManifestOptions{}
	cmd := &cobra.Command{
		Use:   "manifest [N] [--list]",
		Short: "Print the manifest a generation was built from",
		Long: `Print the manifest generation N (default: the booted one, else the default)
was built from, as it was written: each generation keeps the manifest's files
(the top one and those it includes) and the lock in /usr/lib/cairn/manifest.
--list lists those files instead; --json gives them all with their content.
On a running node, cairn manifest says what the node runs.`,
		Args: argsUsage(0, 1, "manifest [N]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runManifest(o, g, args)
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	cmd.Flags().BoolVar(&o.List, "list", false, "list the files kept (manifests and the lock)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print every file with its content as JSON")
	return cmd
}

// keptManifest is what cairn manifest --json prints.
type keptManifest struct {
	Generation int        `json:"generation"`
	Manifest   string     `json:"manifest"`
	Files      []keptFile `json:"files"`
}

type keptFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

func runManifest(o *ManifestOptions, g *Globals, args []string) error {
	s, err := o.Store.open(g)
	if err != nil {
		return err
	}
	n := 0
	if len(args) == 1 {
		if n, err = parseGeneration(args[0]); err != nil {
			return err
		}
		if err := requireGeneration(s, n); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
	} else if n, err = bootedOrDefault(s); err != nil {
		return err
	}
	gen, err := s.Get(n)
	if err != nil {
		return err
	}
	rec, err := readGenerationRecord(gen.Path)
	if err != nil || rec.Manifest == "" {
		return fmt.Errorf("generation %d keeps no manifest (it was built by a cairn that kept none)", n)
	}
	dir := filepath.Join(gen.Path, compose.ManifestDir)
	report := keptManifest{Generation: n, Manifest: rec.Manifest, Files: []keptFile{}}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		report.Files = append(report.Files, keptFile{Path: filepath.ToSlash(rel), Content: string(data)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("generation %d's manifest: %w", n, err)
	}
	switch {
	case o.JSON:
		return writeJSON(g.Stdout, report)
	case o.List:
		for _, f := range report.Files {
			what := ""
			switch {
			case f.Path == rec.Manifest:
				what = " (the manifest)"
			case filepath.Ext(f.Path) == ".lock":
				what = " (the lock)"
			}
			fmt.Fprintf(g.Stdout, "%s%s\n", f.Path, what)
		}
		return nil
	}
	for _, f := range report.Files {
		if f.Path == rec.Manifest {
			_, err := fmt.Fprint(g.Stdout, f.Content)
			return err
		}
	}
	return fmt.Errorf("generation %d: its manifest %s is missing from %s", n, rec.Manifest, compose.ManifestDir)
}

// bootedOrDefault is the booted generation of s, else its default.
func bootedOrDefault(s *store.Store) (int, error) {
	st, err := s.State()
	if err != nil {
		return 0, err
	}
	n := st.Booted
	if n == 0 {
		n = st.Default
	}
	if n == 0 {
		return 0, errors.New("no generation is booted or the default: name one (cairn manifest N)")
	}
	return n, nil
}
