package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

// BuildOptions are the options of `cairn build`.
type BuildOptions struct {
	File      string
	Root      string
	Store     StoreOptions
	Frozen    bool
	CacheDir  string
	NoScripts bool
	NoLock    bool
	JSON      bool
	// Switch makes the new generation the next boot (as cairn switch
	// does), Permanent the default, a trial of Tries boots otherwise.
	Switch    bool
	Permanent bool
	Tries     int
}

// Validate checks the options.
func (o *BuildOptions) Validate() error {
	if o.Root != "" && o.Store.Path != "" {
		return usagef("give --store DIR (a new generation in a store) or --root DIR (a plain tree), not both")
	}
	if o.Root != "" && o.Switch {
		return usagef("--switch makes a generation of a store the next boot: build with --store, not --root")
	}
	if (o.Permanent || o.Tries != store.DefaultTries) && !o.Switch {
		return usagef("--permanent and --tries go with --switch")
	}
	if o.Tries < 1 {
		return usagef("--tries must be at least 1, not %d", o.Tries)
	}
	return nil
}

func newBuildCommand(g *Globals) *cobra.Command {
	o := &BuildOptions{}
	cmd := &cobra.Command{
		Use:   "build [-f system.yaml] [--store DIR [--switch [--permanent]] | --root DIR]",
		Short: "Build the system a manifest describes as a new generation or into a directory",
		Long: `Resolve the manifest's packages (exactly those of cairn.lock beside it when
the lock matches the manifest), install them, write what the manifest declares
and run its setup scripts. Writes cairn.lock when there was none.

By default the system is built in the store's staging area (--store, or the
running system's store) and sealed as its next generation (read-only, metadata written and synced); on btrfs its
files share their data with earlier generations. The generation keeps the
manifest's files and the lock it was built from (/usr/lib/cairn/manifest;
cairn manifest N prints them). The build does not change what boots unless
--switch is given: then the new generation boots next, as a trial that falls
back by itself unless confirmed (--permanent: as the default at once), as
cairn switch N would make it: the day-2 loop in one command. With --root, the
tree is built beside DIR and renamed into place. Either way a failed build
leaves nothing behind.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return runBuild(cmd, o, g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "system.yaml", "the manifest")
	f.StringVar(&o.Root, "root", "", "build into `DIR`")
	addStoreFlags(cmd, &o.Store, true)
	f.BoolVar(&o.Frozen, "frozen", false, "fail unless cairn.lock exists and matches the manifest")
	f.StringVar(&o.CacheDir, "cache-dir", "", "keep downloads in `DIR`")
	f.BoolVar(&o.NoScripts, "no-scripts", false, "run neither package nor setup scripts")
	f.BoolVar(&o.NoLock, "no-lock", false, "do not write cairn.lock")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	f.BoolVar(&o.Switch, "switch", false, "make the new generation the next boot (a trial, as cairn switch)")
	f.BoolVar(&o.Permanent, "permanent", false, "with --switch: make it the default at once, without a trial")
	f.IntVar(&o.Tries, "tries", store.DefaultTries, "with --switch: boots the trial gets before the default boots again")
	return cmd
}

// loadManifest reads and validates a manifest, applies its defaults and
// reads the lock beside it (node.LoadRecipe).
func loadManifest(file string) (*node.Recipe, error) { return node.LoadRecipe(file) }

// buildOptions are the options every build of the command line has: the
// cache (--cache-dir, else cairn's own; "" in a store: the store's),
// where the log goes, and this cairn and its cairn-init for a bootable
// generation.
func buildOptions(g *Globals, cacheDir string, out io.Writer) node.BuildOptions {
	o := node.BuildOptions{CacheDir: cacheDir, Out: out, Err: g.Stderr, Version: Version}
	o.Self, o.Init = selfAndInit(g)
	return o
}

func runBuild(cmd *cobra.Command, o *BuildOptions, g *Globals) error {
	r, err := loadManifest(o.File)
	if err != nil {
		return err
	}
	out := g.Stdout
	if o.JSON {
		out = io.Discard
	}
	cache := o.CacheDir
	if cache == "" && o.Root != "" {
		cache = defaultCacheDir(g)
	}
	bo := buildOptions(g, cache, out)
	bo.Frozen, bo.NoScripts, bo.NoLock = o.Frozen, o.NoScripts, o.NoLock
	if bo.Init == "" && r.Manifest.System.Kernel.Package != "" {
		fmt.Fprintln(g.Stderr, "cairn: warning: no cairn-init beside cairn (or in $CAIRN_INIT): this generation gets no initramfs of cairn's and cannot be booted by cairn's loader entries")
	}
	if o.Root != "" {
		report, err := node.BuildTree(cmd.Context(), r, o.Root, bo)
		if err != nil {
			return err
		}
		if o.JSON {
			return writeJSON(g.Stdout, report)
		}
		fmt.Fprintf(g.Stdout, "built %s: %d packages in %.1f s\n", report.Root, report.Packages, report.Seconds)
		return nil
	}
	ss, err := lockStore(cmd.Context(), g, &o.Store, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	report, err := ss.Build(cmd.Context(), r, bo)
	if err != nil {
		return err
	}
	gen := report.Generation
	if o.Switch {
		if !o.JSON {
			fmt.Fprintf(g.Stdout, "built generation %d (%s): %d packages in %.1f s\n", gen, report.Root, report.Packages, report.Seconds)
		}
		so := &SwitchOptions{Store: o.Store, Permanent: o.Permanent, Tries: o.Tries, JSON: o.JSON}
		rep, err := ss.Switch(node.SwitchRequest{Generation: gen, Permanent: o.Permanent, Tries: o.Tries})
		var noTrials *node.NoTrialsError
		if errors.As(err, &noTrials) {
			err = asUsage(err)
		}
		if err != nil {
			return fmt.Errorf("built generation %d, but %w", gen, err)
		}
		if !o.JSON {
			return printSwitch(g, so, rep)
		}
		report.State = &rep.After
	}
	if o.JSON {
		return writeJSON(g.Stdout, report)
	}
	fmt.Fprintf(g.Stdout, "built generation %d (%s): %d packages in %.1f s; cairn switch %d boots it next\n", gen, report.Root, report.Packages, report.Seconds, gen)
	return nil
}

// LockOptions are the options of `cairn lock`.
type LockOptions struct {
	File     string
	Update   bool
	CacheDir string
	JSON     bool
}

func newLockCommand(g *Globals) *cobra.Command {
	o := &LockOptions{}
	cmd := &cobra.Command{
		Use:   "lock [-f system.yaml] [--update]",
		Short: "Write cairn.lock: the exact packages the manifest resolves to",
		Long: `Resolve the manifest's packages without installing them and pin them by
version and checksum in cairn.lock beside the manifest. An existing lock that
matches the manifest is kept unless --update asks for the newest packages.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := loadManifest(o.File)
			if err != nil {
				return err
			}
			cache := o.CacheDir
			if cache == "" {
				cache = defaultCacheDir(g)
			}
			rep, err := node.Lock(cmd.Context(), r, o.Update, node.BuildOptions{CacheDir: cache, Err: g.Stderr})
			if err != nil {
				return err
			}
			if o.JSON {
				return writeJSON(g.Stdout, rep)
			}
			if !rep.Written {
				fmt.Fprintf(g.Stdout, "%s is up to date (%d packages)\n", rep.Path, len(rep.Lock.Packages))
				return nil
			}
			fmt.Fprintf(g.Stdout, "wrote %s: %d packages, %d artifacts\n", rep.Path, len(rep.Lock.Packages), len(rep.Lock.Artifacts))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "system.yaml", "the manifest")
	f.BoolVar(&o.Update, "update", false, "resolve again even when the lock matches the manifest")
	f.StringVar(&o.CacheDir, "cache-dir", "", "keep downloads in `DIR`")
	f.BoolVar(&o.JSON, "json", false, "print the lock as JSON")
	return cmd
}

// selfAndInit finds the cairn binary that runs and the cairn-init beside
// it (or named by $CAIRN_INIT), which a bootable generation carries.
func selfAndInit(g *Globals) (self, init string) {
	self, err := os.Executable()
	if err != nil {
		return "", ""
	}
	init = g.Getenv("CAIRN_INIT")
	if init == "" {
		for _, p := range []string{filepath.Join(filepath.Dir(self), "cairn-init"), layout.CairnInit} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				init = p
				break
			}
		}
	}
	return self, init
}
