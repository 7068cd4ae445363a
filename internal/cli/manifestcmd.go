package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/layout"
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

func runManifest(o *ManifestOptions, g *Globals, args []string) error {
	nd, err := o.Store.inspect(g)
	if err != nil {
		return err
	}
	n := 0
	if len(args) == 1 {
		if n, err = parseGeneration(args[0]); err != nil {
			return err
		}
	}
	report, err := nd.Manifest(n)
	if err != nil {
		return err
	}
	switch {
	case o.JSON:
		return writeJSON(g.Stdout, report)
	case o.List:
		for _, f := range report.Files {
			what := ""
			switch {
			case f.Path == report.Manifest:
				what = " (the manifest)"
			case filepath.Ext(f.Path) == ".lock":
				what = " (the lock)"
			}
			fmt.Fprintf(g.Stdout, "%s%s\n", f.Path, what)
		}
		return nil
	}
	for _, f := range report.Files {
		if f.Path == report.Manifest {
			_, err := fmt.Fprint(g.Stdout, f.Content)
			return err
		}
	}
	return fmt.Errorf("generation %d: its manifest %s is missing from %s", report.Generation, report.Manifest, layout.ManifestDir)
}
