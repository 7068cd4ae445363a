package cli

import (
	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func newSchemaCommand(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the system manifest",
		Long: `Print the JSON Schema (draft 2020-12) of cairn's system manifest, generated
from the Go types. Point an editor's YAML support at it to complete and check
manifests, for example with a first line

  # yaml-language-server: $schema=` + manifest.SchemaID + `
`,
		Args: noArgsUsage("schema"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := g.Stdout.Write(manifest.Schema())
			return err
		},
	}
}

// noArgsUsage refuses arguments as a usage error (exit 2).
func noArgsUsage(what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("%s takes no arguments, got %q", what, args)
		}
		return nil
	}
}
