// Package cli is cairn's command line: it parses flags and calls the
// internal packages that do the work. Run executes it in-process, which is
// how the tests drive it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Stdio is where a command reads and writes.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Globals are the state shared by all commands of one invocation.
type Globals struct {
	Stdio
	// Getenv reads the environment (tests substitute their own).
	Getenv func(string) string
}

// Exit codes, listed in `cairn --help`.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitUnsatisfiable = 3
	ExitUntrusted     = 4
	ExitLocked        = 5
	ExitCancelled     = 130
)

const exitCodeHelp = `Exit codes:
  0    success
  1    failure
  2    bad command line
  3    the requested packages cannot be satisfied
  4    a package or index did not verify (signature, checksum, damage)
  5    the store is locked by another cairn and --no-wait was given
  130  cancelled
`

// exitError carries an exit code; its message has already been printed
// when silent is set.
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// reported wraps an error whose report the command already wrote.
func reported(code int, err error) error { return &exitError{code: code, err: err, silent: true} }

// Run executes cairn with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdio Stdio) int {
	g := &Globals{Stdio: stdio, Getenv: os.Getenv}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(stdio.Stdin)
	root.SetOut(stdio.Stdout)
	root.SetErr(stdio.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var me *manifestError
	if errors.As(err, &me) {
		for _, e := range me.errs {
			fmt.Fprintln(stdio.Stderr, e.Error())
		}
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.silent {
			fmt.Fprintf(stdio.Stderr, "cairn: %v\n", ee.err)
		}
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stdio.Stderr, "cairn: cancelled")
		return ExitCancelled
	}
	fmt.Fprintf(stdio.Stderr, "cairn: %v\n", err)
	if isUsageError(err) {
		return ExitUsage
	}
	return ExitFailure
}

// usageError marks command line mistakes.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func isUsageError(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
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
		return &usageError{msg: err.Error()}
	})
	root.AddCommand(
		newVersionCommand(g),
		newAPKCommand(g),
		newSchemaCommand(g),
		newValidateCommand(g),
		newInitCommand(g),
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
		newFsckCommand(g),
		newDiffCommand(g),
	)
	return root
}
