package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/build"
	"github.com/cairnlinux/cairn/internal/manifest"
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

// lockPath is the manifest's lock beside it (manifest.LockPath).
func lockPath(manifestPath string) string { return manifest.LockPath(manifestPath) }

// loadManifest reads and validates a manifest and applies its defaults.
func loadManifest(file string) (*manifest.File, error) {
	f, err := manifest.LoadFile(file)
	if err != nil {
		var errs manifest.Errors
		if errors.As(err, &errs) {
			return nil, &manifestError{file: file, errs: errs}
		}
		return nil, asUsage(err)
	}
	f.ApplyDefaults()
	return f, nil
}

// explain turns an error of work on the manifest f (a build, a lock)
// that names keys of the manifest into those problems, each at its
// file:line:column, reported as cairn validate reports them.
func explain(f *manifest.File, err error) error {
	if err == nil {
		return nil
	}
	if errs := f.Locate(err); len(errs) > 0 {
		return &manifestError{file: f.Path, errs: errs, cause: err}
	}
	return err
}

// manifestError is a manifest's problems. Run prints them one a line, as
// cairn validate does, then how many there are.
type manifestError struct {
	file string
	errs manifest.Errors
	// cause is the error the problems were found in, if any (it says,
	// for one, whether the packages are unsatisfiable).
	cause error
}

func (e *manifestError) Error() string {
	return fmt.Sprintf("%s in %s", plural(len(e.errs), "problem"), e.file)
}

func (e *manifestError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.errs}
	}
	return []error{e.errs, e.cause}
}

func readLockBeside(file string) (*manifest.Lock, error) {
	l, err := manifest.ReadLock(lockPath(file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return l, err
}

func runBuild(cmd *cobra.Command, o *BuildOptions, g *Globals) error {
	mf, err := loadManifest(o.File)
	if err != nil {
		return err
	}
	sys := mf.System
	lock, err := readLockBeside(o.File)
	if err != nil {
		return err
	}
	cache := o.CacheDir
	if cache == "" {
		cache = defaultCacheDir(g)
	}
	out := g.Stdout
	if o.JSON {
		out = io.Discard
	}
	req := build.Request{
		Manifest:     sys,
		ManifestPath: o.File,
		Root:         o.Root,
		Lock:         lock,
		Frozen:       o.Frozen,
		CacheDir:     cache,
		NoScripts:    o.NoScripts,
		Out:          out,
		Err:          g.Stderr,
		Version:      Version,
		Sources:      mf.Sources,
	}
	req.Self, req.Init = selfAndInit(g)
	if req.Init == "" && sys.Kernel.Package != "" {
		fmt.Fprintln(g.Stderr, "cairn: warning: no cairn-init beside cairn (or in $CAIRN_INIT): this generation gets no initramfs of cairn's and cannot be booted by cairn's loader entries")
	}
	var res *build.Result
	gen := 0
	if o.Root == "" {
		ss, err := lockStore(cmd.Context(), g, &o.Store, fsckRepair)
		if err != nil {
			return err
		}
		// Closed before --switch, which takes the lock itself.
		closed := false
		defer func() {
			if !closed {
				ss.close()
			}
		}()
		st := ss.s
		if o.CacheDir == "" {
			req.CacheDir = filepath.Join(st.CacheDir(), "downloads")
		}
		var sealed store.Generation
		if res, sealed, err = build.IntoStore(cmd.Context(), st, req); err != nil {
			return explain(mf, fullHint(err, "the file system holding the store is full; nothing was kept: free some space, for example with `cairn gc`, and try again"))
		}
		gen = sealed.Number
		state, err := st.State()
		if err == nil {
			err = syncBoot(g, st, nil, state)
		}
		if err != nil {
			return fmt.Errorf("built generation %d, but %w", gen, err)
		}
		ss.close()
		closed = true
	} else if res, err = build.Build(cmd.Context(), req); err != nil {
		return explain(mf, fullHint(err, "the file system holding the root is full: free some space and try again"))
	}
	if !o.NoLock && (lock == nil || lock.Digest() != res.Lock.Digest()) {
		if err := manifest.WriteLock(lockPath(o.File), res.Lock); err != nil {
			return fmt.Errorf("write cairn.lock: %w", err)
		}
	}
	report := buildReport{Root: res.Root, Generation: gen, LockDigest: res.Lock.Digest(), SourceDateEpoch: res.Lock.SourceDateEpoch,
		Packages: len(res.Lock.Packages), Seconds: res.Duration.Seconds()}
	if o.Switch {
		sg := *g
		var switched bytes.Buffer
		if o.JSON {
			sg.Stdout = &switched
		} else {
			fmt.Fprintf(g.Stdout, "built generation %d (%s): %d packages in %.1f s\n", gen, res.Root, report.Packages, report.Seconds)
		}
		so := &SwitchOptions{Store: o.Store, Permanent: o.Permanent, Tries: o.Tries, JSON: o.JSON}
		if err := runSwitch(cmd.Context(), so, &sg, []string{strconv.Itoa(gen)}); err != nil {
			return fmt.Errorf("built generation %d, but %w", gen, err)
		}
		if !o.JSON {
			return nil
		}
		report.State = json.RawMessage(switched.Bytes())
	}
	if o.JSON {
		return writeJSON(g.Stdout, report)
	}
	if gen != 0 {
		fmt.Fprintf(g.Stdout, "built generation %d (%s): %d packages in %.1f s; cairn switch %d boots it next\n", gen, res.Root, report.Packages, report.Seconds, gen)
		return nil
	}
	fmt.Fprintf(g.Stdout, "built %s: %d packages in %.1f s\n", res.Root, len(res.Lock.Packages), res.Duration.Seconds())
	return nil
}

// buildReport is what cairn build --json prints.
type buildReport struct {
	Root            string  `json:"root"`
	Generation      int     `json:"generation,omitempty"`
	LockDigest      string  `json:"lockDigest"`
	SourceDateEpoch int64   `json:"sourceDateEpoch"`
	Packages        int     `json:"packages"`
	Seconds         float64 `json:"seconds"`
	// State is the store's state after --switch, as cairn switch --json
	// prints it.
	State json.RawMessage `json:"state,omitempty"`
}

// lockReport is what cairn lock --json prints: the lock file, whether it
// was written (false: it was up to date), and the lock.
type lockReport struct {
	Path    string         `json:"path"`
	Written bool           `json:"written"`
	Lock    *manifest.Lock `json:"lock"`
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
			mf, err := loadManifest(o.File)
			if err != nil {
				return err
			}
			sys := mf.System
			old, err := readLockBeside(o.File)
			if err != nil {
				return err
			}
			if old != nil && !o.Update && old.Matches(sys) == nil {
				if o.JSON {
					return writeJSON(g.Stdout, lockReport{Path: lockPath(o.File), Lock: old})
				}
				fmt.Fprintf(g.Stdout, "%s is up to date (%d packages)\n", lockPath(o.File), len(old.Packages))
				return nil
			}
			cache := o.CacheDir
			if cache == "" {
				cache = defaultCacheDir(g)
			}
			l, err := build.Lock(cmd.Context(), build.Request{Manifest: sys, ManifestPath: o.File, CacheDir: cache, Err: g.Stderr})
			if err != nil {
				return explain(mf, err)
			}
			if err := manifest.WriteLock(lockPath(o.File), l); err != nil {
				return err
			}
			if o.JSON {
				return writeJSON(g.Stdout, lockReport{Path: lockPath(o.File), Written: true, Lock: l})
			}
			fmt.Fprintf(g.Stdout, "wrote %s: %d packages, %d artifacts\n", lockPath(o.File), len(l.Packages), len(l.Artifacts))
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
		for _, p := range []string{filepath.Join(filepath.Dir(self), "cairn-init"), "/usr/lib/cairn/cairn-init"} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				init = p
				break
			}
		}
	}
	return self, init
}
