package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/capture"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/state"
)

// DriftOptions are the options of `cairn drift`.
type DriftOptions struct {
	Root       string
	Generation string
	OpenRCDir  string
	Added      bool
	JSON       bool
}

func newDriftCommand(g *Globals) *cobra.Command {
	o := &DriftOptions{}
	cmd := &cobra.Command{
		Use:   "drift [--added] [--json]",
		Short: "Show what the node's writable state has that its generation does not declare",
		Long: `List every path under the persistent directories (/var and the manifest's
persist:) that differs from what the booted generation declares (files.inline,
the skeleton, artifacts) or seeded there (its own tree at that path): changed
in content, mode or owner, or missing; and every running OpenRC service that is
in none of the generation's runlevels and that none of its services needs.
cairn's own records (/var/lib/cairn) are left out. With --added, files the
generation has nothing of (data, logs, caches: what persistent directories
hold) are listed too.

A hand edit it shows can be turned into the manifest with cairn capture.
Drift does not make the exit code non-zero.
`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDrift(o, g) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Root, "root", "/", "the running system")
	f.StringVar(&o.Generation, "generation", layout.CurrentSystem, "the booted generation's tree")
	f.StringVar(&o.OpenRCDir, "openrc-dir", "/run/openrc", "OpenRC's state directory")
	f.BoolVar(&o.Added, "added", false, "also list files the generation has nothing of")
	f.BoolVar(&o.JSON, "json", false, "print the drift as JSON")
	return cmd
}

func runDrift(o *DriftOptions, g *Globals) error {
	if fi, err := os.Stat(o.Generation); err != nil || !fi.IsDir() {
		return fmt.Errorf("drift: no booted generation at %s (a system cairn-init did not boot from a store, such as a RAM system, has none to compare with; give --generation DIR)", o.Generation)
	}
	r, err := state.Drift(state.DriftOptions{Root: o.Root, Generation: o.Generation, OpenRC: o.OpenRCDir, Added: o.Added})
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if o.JSON {
		if r.Files == nil {
			r.Files = []state.FileDrift{}
		}
		if r.Services == nil {
			r.Services = []state.ServiceDrift{}
		}
		return writeJSON(g.Stdout, r)
	}
	if r.Empty() {
		fmt.Fprintf(g.Stdout, "no drift: %s are as the booted generation declares or seeded them, and every running service is declared\n", strings.Join(r.Persist, ", "))
		return nil
	}
	for _, f := range r.Files {
		fmt.Fprintln(g.Stdout, printable(f.String()))
	}
	for _, s := range r.Services {
		fmt.Fprintf(g.Stdout, "%-8s %s: %s\n", "service", printable(s.Name), s.Why)
	}
	return nil
}

// CaptureOptions are the options of `cairn capture`.
type CaptureOptions struct {
	File   string
	Root   string
	Inline bool
	JSON   bool
}

func newCaptureCommand(g *Globals) *cobra.Command {
	o := &CaptureOptions{}
	cmd := &cobra.Command{
		Use:   "capture [-f system.yaml] PATH...",
		Short: "Turn files changed by hand on a node into manifest entries",
		Long: `Write the files at PATH, as they are on this system, into the manifest: a file
the manifest declares in files.inline gets its new content (and mode, owner)
there; any other goes into the manifest's skeleton directory (files.skeleton),
or, when there is none, the file is not owned by root, or --inline is given,
becomes a new files.inline entry. It prints what it wrote; review it, commit
it, and build: the next generation declares the hand edit, and cairn drift no
longer shows it.

Only the top manifest file is edited (its YAML comments and key order kept).
Nothing is written unless every path can be captured.
`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCapture(o, g, args) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "system.yaml", "the manifest")
	f.StringVar(&o.Root, "root", "/", "the system the files are read from")
	f.BoolVar(&o.Inline, "inline", false, "write inline entries even when the manifest has a skeleton")
	f.BoolVar(&o.JSON, "json", false, "print what was written as JSON")
	return cmd
}

func runCapture(o *CaptureOptions, g *Globals, paths []string) error {
	w, err := capture.Capture(capture.Request{Manifest: o.File, Root: o.Root, Paths: paths, Inline: o.Inline})
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if o.JSON {
		return writeJSON(g.Stdout, map[string]any{"manifest": o.File, "written": w})
	}
	for _, x := range w {
		fmt.Fprintf(g.Stdout, "%s: %s\n", o.File, printable(x.String()))
	}
	return nil
}
