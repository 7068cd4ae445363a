package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk/engine"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/build"
	"github.com/cairnlinux/cairn/internal/deliver"
)

// APKOptions are the options every `cairn apk` command accepts, named as
// apk names them.
type APKOptions struct {
	Root             string
	Repositories     []string
	KeysDir          string
	Arch             string
	CacheDir         string
	NoCache          bool
	AllowUntrusted   bool
	NoNetwork        bool
	Force            bool
	ForceBrokenWorld bool
	ForceOverwrite   bool
	Simulate         bool
	NoScripts        bool
	Quiet            bool
	JSON             bool

	// apk-tools' test mode: plain-text repositories and state.
	TestRepos  []string
	TestInstdb string
	TestWorld  string
}

func (o *APKOptions) testMode() bool {
	return len(o.TestRepos) > 0 || o.TestInstdb != "" || o.TestWorld != ""
}

func newAPKCommand(g *Globals) *cobra.Command {
	o := &APKOptions{}
	cmd := &cobra.Command{
		Use:   "apk",
		Short: "Alpine package plumbing: versions, resolving, installing, verifying",
		Long: `cairn's own implementation of Alpine's apk, for building roots and for
checking cairn against apk-tools. Options and output follow apk-tools 2.14.`,
	}
	f := cmd.PersistentFlags()
	f.StringVarP(&o.Root, "root", "p", "", "manage the root file system at `DIR`")
	f.StringArrayVarP(&o.Repositories, "repository", "X", nil, "use the repository `URL` (repeatable; \"@tag URL\" tags it)")
	f.StringVar(&o.KeysDir, "keys-dir", "", "trust the signing keys in `DIR` (default ROOT/etc/apk/keys)")
	f.StringVar(&o.Arch, "arch", "", "package architecture (default: ROOT/etc/apk/arch, else this machine's)")
	f.StringVar(&o.CacheDir, "cache-dir", "", "keep downloaded indexes and packages in `DIR`")
	f.BoolVar(&o.NoCache, "no-cache", false, "do not use a package cache")
	f.BoolVar(&o.AllowUntrusted, "allow-untrusted", false, "accept unsigned or badly signed indexes and packages (unsafe)")
	f.BoolVar(&o.NoNetwork, "no-network", false, "do not use network repositories")
	f.BoolVarP(&o.Force, "force", "f", false, "enable all --force-* options")
	f.BoolVar(&o.ForceBrokenWorld, "force-broken-world", false, "continue with the satisfiable part of a broken world")
	f.BoolVar(&o.ForceOverwrite, "force-overwrite", false, "let packages overwrite each other's files")
	f.BoolVarP(&o.Simulate, "simulate", "s", false, "only print what would be done")
	f.BoolVar(&o.NoScripts, "no-scripts", false, "do not run package scripts")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print less")
	f.BoolVar(&o.JSON, "json", false, "print results as JSON")
	f.StringArrayVar(&o.TestRepos, "test-repo", nil, "test mode: a plain-text index `[!][tag:]FILE` (repeatable)")
	f.StringVar(&o.TestInstdb, "test-instdb", "", "test mode: a plain-text installed database `FILE`")
	f.StringVar(&o.TestWorld, "test-world", "", "test mode: the current world")

	cmd.AddCommand(
		newAPKVersionCommand(g, o),
		newAPKAddCommand(g, o),
		newAPKDelCommand(g, o),
		newAPKFixCommand(g, o),
		newAPKUpgradeCommand(g, o),
		newAPKResolveCommand(g, o),
		newAPKMkpkgCommand(g, o),
		newAPKIndexCommand(g, o),
		newAPKSignCommand(g, o),
		newAPKVerifyCommand(g, o),
	)
	return cmd
}

// isVerifyError reports whether err is something that did not verify: a
// signature, a checksum, a damaged package or index, an artifact.
func isVerifyError(err error) bool {
	var ce *build.ChecksumError
	return engine.NotVerified(err) || errors.As(err, &ce) ||
		errors.Is(err, deliver.ErrUntrusted) || errors.Is(err, deliver.ErrTampered)
}

// apkError prints an error the way apk does ("ERROR: ...") and returns it
// with the matching exit code.
func apkError(g *Globals, err error) error {
	if err == nil {
		return nil
	}
	if g.JSON {
		return err // reported as JSON
	}
	var unsat *solver.UnsatisfiableError
	if errors.As(err, &unsat) {
		fmt.Fprintf(g.Stderr, "ERROR: unable to select packages:\n%s", unsat.Report)
		return reported(0, err)
	}
	var missing *solver.MissingError
	if errors.As(err, &missing) {
		for _, m := range missing.Messages() {
			fmt.Fprintf(g.Stderr, "ERROR: %s\n", m)
		}
		return reported(0, err)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(g.Stderr, "ERROR: cancelled")
		return reported(ExitCancelled, err)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.silent {
			fmt.Fprintf(g.Stderr, "ERROR: %v\n", ee.err)
		}
		return reported(ee.code, ee.err)
	}
	fmt.Fprintf(g.Stderr, "ERROR: %v\n", err)
	return reported(0, err)
}
