package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

// Exit codes, listed in `cairn --help`. exitCode maps errors to them, in
// this one place.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitUnsatisfiable = 3
	ExitUntrusted     = 4
	ExitLocked        = 5
	ExitTrialFailed   = 6
	ExitCancelled     = 130
)

const exitCodeHelp = `Exit codes (every command):
  0    success
  1    failure
  2    bad command line or manifest
  3    the requested packages cannot be satisfied
  4    a package, index or artifact did not verify (signature, checksum, damage)
  5    the store is locked by another cairn and --no-wait was given
  6    a trial failed: the node fell back (push --wait, rollout)
  130  cancelled
`

// exitCode is the exit code of a command's error: the first of these
// that applies.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitCancelled
	case errors.As(err, &ee) && ee.code != 0:
		return ee.code
	case errors.Is(err, store.ErrLocked):
		return ExitLocked
	case errors.Is(err, solver.ErrUnsatisfiable):
		return ExitUnsatisfiable
	case isVerifyError(err):
		return ExitUntrusted
	case isUsageError(err), isManifestProblem(err):
		return ExitUsage
	}
	return ExitFailure
}

// isManifestProblem reports whether err is about what a manifest says.
func isManifestProblem(err error) bool {
	var me *node.ManifestError
	var unreadable *node.UnreadableError
	var one *manifest.Error
	var all manifest.Errors
	return errors.As(err, &me) || errors.As(err, &unreadable) || errors.As(err, &one) || errors.As(err, &all)
}

// report prints a failed command's error: a manifest's problems one a
// line, as cairn validate does, then "cairn: " and the error, unless the
// command printed it itself.
func report(w io.Writer, err error) {
	var me *node.ManifestError
	if errors.As(err, &me) {
		for _, e := range me.Problems {
			fmt.Fprintln(w, e.Error())
		}
	}
	var ee *exitError
	switch {
	case errors.As(err, &ee) && ee.silent:
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "cairn: cancelled")
	default:
		fmt.Fprintf(w, "cairn: %v\n", err)
	}
}

// wantsJSON reports whether cmd runs with --json.
func wantsJSON(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags().Lookup("json")
	return f != nil && f.Value.String() == "true"
}

// jsonError is how a failed command reports under --json, on standard
// output where its result would have gone: what went wrong, the exit
// code, and a manifest's problems each with its place.
type jsonError struct {
	Error struct {
		Message  string            `json:"message"`
		ExitCode int               `json:"exitCode"`
		Problems []*manifest.Error `json:"problems,omitempty"`
	} `json:"error"`
}

// reportJSON writes err as a jsonError, unless the command reported it
// already (cairn validate --json prints its problems in its report).
func reportJSON(w io.Writer, err error, code int) {
	var ee *exitError
	if errors.As(err, &ee) && ee.silent {
		return
	}
	var je jsonError
	je.Error.Message, je.Error.ExitCode = err.Error(), code
	if errors.Is(err, context.Canceled) {
		je.Error.Message = "cancelled"
	}
	var me *node.ManifestError
	if errors.As(err, &me) {
		je.Error.Problems = me.Problems
	}
	writeJSON(w, je)
}

// exitError carries an exit code other than exitCode's (0: exitCode's);
// its message has already been printed when silent is set.
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

// reported wraps an error whose report the command already wrote; code 0
// leaves the exit code to exitCode.
func reported(code int, err error) error { return &exitError{code: code, err: err, silent: true} }

// usageError marks command line mistakes.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// asUsage marks err as a command line mistake.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err: err}
}

func isUsageError(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}

// usageArgs makes every argument problem of cmd and its subcommands a
// usage error: cobra's own argument checks, and a subcommand that does
// not exist (cairn biuld).
//
// It also lists the exit codes in the help of every command that does
// not list its own.
func usageArgs(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		usageArgs(c)
	}
	if !strings.Contains(cmd.Long, "Exit codes") && cmd.Name() != "help" {
		long := cmd.Long
		if long == "" {
			long = cmd.Short + "."
		}
		cmd.Long = strings.TrimRight(long, "\n") + "\n\n" + exitCodeHelp
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return asUsage(args(c, a)) }
		return
	}
	if cmd.HasSubCommands() && !cmd.Runnable() {
		// cobra prints the help of a command group for any argument;
		// only a bare group does, and an unknown subcommand is an error.
		cmd.Args = cobra.ArbitraryArgs
		cmd.SuggestionsMinimumDistance = 2
		cmd.RunE = func(c *cobra.Command, a []string) error {
			if len(a) == 0 {
				return c.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", a[0], c.CommandPath())
			if s := c.SuggestionsFor(a[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usagef("%s (%s --help lists the commands)", msg, c.CommandPath())
		}
	}
}
