// Package cli is cairn's command line: it parses flags and calls the
// internal packages that do the work. Run executes it in-process, which is
// how the tests drive it.
package cli

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Stdio is where a command reads and writes.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// countingWriter counts what is written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Globals are the state shared by all commands of one invocation.
type Globals struct {
	Stdio
	// Getenv reads the environment (tests substitute their own).
	Getenv func(string) string
	// JSON is set when the command runs with --json: its errors are
	// reported as JSON (see reportJSON), not printed as text.
	JSON bool
}

// Run executes cairn with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdio Stdio) int {
	// Under --json an error is a JSON document on standard output, unless
	// the command wrote its own there (a report that says what failed):
	// what it writes is counted. Only then, since a command may look at
	// its standard output for a terminal (cairn vm).
	out := &countingWriter{w: stdio.Stdout}
	if slices.ContainsFunc(args, func(a string) bool { return a == "--json" || strings.HasPrefix(a, "--json=") }) {
		stdio.Stdout = out
	}
	g := &Globals{Stdio: stdio, Getenv: os.Getenv}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(stdio.Stdin)
	root.SetOut(stdio.Stdout)
	root.SetErr(stdio.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if wantsJSON(cmd) && out.n == 0 {
		reportJSON(stdio.Stdout, err, code)
	} else {
		report(stdio.Stderr, err)
	}
	return code
}

func newRootCommand(g *Globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Declarative, generational Alpine Linux",
		Long: `cairn builds whole Alpine Linux systems from a manifest into generations,
boots them with a trial that falls back by itself, and rolls back in one
command.

` + exitCodeHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return asUsage(err)
	})
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { g.JSON = wantsJSON(cmd) }
	root.AddCommand(
		newVersionCommand(g),
		newAPKCommand(g),
		newSchemaCommand(g),
		newValidateCommand(g),
		newInitCommand(g),
		newStoreCommand(g),
		newBuildCommand(g),
		newBootCommand(g),
		newConfirmCommand(g),
		newStatusCommand(g),
		newVMCommand(g),
		newImageCommand(g),
		newInstallCommand(g),
		newLockCommand(g),
		newGenerationsCommand(g),
		newSwitchCommand(g),
		newRollbackCommand(g),
		newPinCommand(g, true),
		newPinCommand(g, false),
		newGCCommand(g),
		newSecretsCommand(g),
		newFsckCommand(g),
		newDiffCommand(g),
		newDriftCommand(g),
		newCaptureCommand(g),
		newSnapshotsCommand(g),
		newManifestCommand(g),
		newManCommand(g),
		newTenantsCommand(g),
		newRAMCommand(g),
	)
	root.AddCommand(fleetCommands(g)...)
	usageArgs(root)
	registerCompletions(root, g)
	return root
}
