package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// apkSession opens the engine the options describe and returns a
// session that commits into its root (or only prints, with --simulate).
func apkSession(ctx context.Context, g *Globals, o *APKOptions, initdb bool) (*solver.Session, error) {
	e, err := apkEngine(ctx, g, o, apkDatabase{withRoot: true, create: initdb, simulate: o.Simulate})
	if err != nil {
		return nil, err
	}
	return e.Session(ctx), nil
}

// runAPKCommit runs an apk operation; with --json it prints the changes
// committed as one JSON document instead of apk's change lines.
func runAPKCommit(g *Globals, o *APKOptions, s *solver.Session, op func() error) error {
	if !o.JSON {
		return apkError(g, op())
	}
	jc := &jsonCommitter{inner: s.Committer, out: g.Stdout, simulated: o.Simulate || o.testMode()}
	s.Committer = jc
	if err := op(); err != nil {
		return apkError(g, err)
	}
	return apkError(g, jc.flush())
}

// buildTime is SOURCE_DATE_EPOCH when set, so builds are reproducible,
// else the current time.
func buildTime(g *Globals) time.Time {
	if v := g.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0)
		}
	}
	return time.Now()
}

func newAPKAddCommand(g *Globals, o *APKOptions) *cobra.Command {
	var ao solver.AddOptions
	var initdb bool
	cmd := &cobra.Command{
		Use:   "add [options] PACKAGE...",
		Short: "Add packages to the world and install them",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := apkSession(cmd.Context(), g, o, initdb)
			if err != nil {
				return apkError(g, err)
			}
			return runAPKCommit(g, o, s, func() error { return s.Add(args, ao) })
		},
	}
	f := cmd.Flags()
	f.BoolVar(&initdb, "initdb", false, "create a new database in ROOT")
	f.BoolVarP(&ao.Latest, "latest", "l", false, "always choose the latest available version")
	f.BoolVarP(&ao.Upgrade, "upgrade", "u", false, "upgrade the named packages and their dependencies")
	f.StringVarP(&ao.Virtual, "virtual", "t", "", "make a virtual package `NAME` depending on the arguments, and add it instead")
	return cmd
}

func newAPKDelCommand(g *Globals, o *APKOptions) *cobra.Command {
	var do solver.DelOptions
	cmd := &cobra.Command{
		Use:   "del [options] PACKAGE...",
		Short: "Remove packages from the world and uninstall what is no longer needed",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := apkSession(cmd.Context(), g, o, false)
			if err != nil {
				return apkError(g, err)
			}
			return runAPKCommit(g, o, s, func() error { return s.Del(args, do) })
		},
	}
	cmd.Flags().BoolVarP(&do.Rdepends, "rdepends", "r", false, "also remove the packages depending on them")
	return cmd
}

func newAPKFixCommand(g *Globals, o *APKOptions) *cobra.Command {
	var fo solver.FixOptions
	cmd := &cobra.Command{
		Use:   "fix [options] [PACKAGE...]",
		Short: "Reinstall or upgrade packages (by default the broken ones) without changing the world",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := apkSession(cmd.Context(), g, o, false)
			if err != nil {
				return apkError(g, err)
			}
			return runAPKCommit(g, o, s, func() error { return s.Fix(args, fo) })
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&fo.Depends, "depends", "d", false, "fix the dependencies too")
	f.BoolVarP(&fo.Reinstall, "reinstall", "r", false, "reinstall the packages (the default)")
	f.BoolVarP(&fo.Upgrade, "upgrade", "u", false, "upgrade the packages if possible")
	f.BoolVarP(&fo.Xattr, "xattr", "x", false, "also fix packages with broken xattrs")
	return cmd
}

func newAPKUpgradeCommand(g *Globals, o *APKOptions) *cobra.Command {
	var uo solver.UpgradeOptions
	cmd := &cobra.Command{
		Use:   "upgrade [options] [PACKAGE...]",
		Short: "Upgrade installed packages",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := apkSession(cmd.Context(), g, o, false)
			if err != nil {
				return apkError(g, err)
			}
			uo.Simulate = o.Simulate || o.testMode()
			return runAPKCommit(g, o, s, func() error { return s.Upgrade(args, uo) })
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&uo.Available, "available", "a", false, "replace or downgrade packages to what the repositories have")
	f.BoolVar(&uo.Ignore, "ignore", false, "upgrade everything except the named packages")
	f.BoolVarP(&uo.Latest, "latest", "l", false, "always choose the latest available version")
	f.BoolVar(&uo.NoSelfUpgrade, "no-self-upgrade", false, "do not upgrade apk-tools first")
	f.BoolVar(&uo.Prune, "prune", false, "remove world entries no repository provides")
	f.BoolVar(&uo.SelfUpgradeOnly, "self-upgrade-only", false, "only upgrade apk-tools and what it needs")
	return cmd
}
