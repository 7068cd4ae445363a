package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// apkDatabase says what openAPKDatabase opens besides the --repository
// indexes.
type apkDatabase struct {
	// withRoot reads ROOT's state: its installed packages, world and
	// repositories (--root, / when not given).
	withRoot bool
	// create makes ROOT's database when it has none (--initdb).
	create bool
	// simulate changes nothing on disk (--simulate; a resolve).
	simulate bool
}

// openAPKDatabase opens the database the apk options describe: ROOT's
// state when what says so, plus the --repository indexes.
func openAPKDatabase(ctx context.Context, g *Globals, o *APKOptions, what apkDatabase) (*database.Database, error) {
	var repos []repo.Repository
	for _, v := range o.Repositories {
		r, err := repo.ParseRepository(v)
		if err != nil {
			return nil, usagef("--repository: %v", err)
		}
		repos = append(repos, r)
	}
	opts := database.Options{
		Repositories:   repos,
		KeysDir:        o.KeysDir,
		Arch:           o.Arch,
		AllowUntrusted: o.AllowUntrusted,
		NoNetwork:      o.NoNetwork,
		Create:         what.create,
		Simulate:       what.simulate,
		CacheDir:       o.CacheDir,
		Warnings:       g.Stderr,
	}
	if what.withRoot {
		opts.Root = o.Root
		if opts.Root == "" {
			opts.Root = "/"
		}
	}
	if opts.CacheDir == "" {
		opts.CacheDir = defaultCacheDir(g)
	}
	return database.Open(ctx, opts)
}

// APKResolveOptions are the options of `cairn apk resolve`.
type APKResolveOptions struct {
	Latest bool
}

type resolvedPackage struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Arch       string `json:"arch,omitempty"`
	Repository string `json:"repository,omitempty"`
	Checksum   string `json:"checksum"`
	Size       int64  `json:"size"`
	Installed  int64  `json:"installedSize"`
}

type resolveResult struct {
	World    []string          `json:"world"`
	Packages []resolvedPackage `json:"packages"`
	// Order is an install order: every package after its dependencies.
	Order []string `json:"order"`
}

func newAPKResolveCommand(g *Globals, o *APKOptions) *cobra.Command {
	ro := &APKResolveOptions{}
	cmd := &cobra.Command{
		Use:   "resolve [options] WORLD...",
		Short: "Print the packages apk would select for a world",
		Long: `Resolve the world (dependencies in apk syntax) against the repositories
given with --repository (and ROOT's repositories and installed packages with
--root), and print one name-version line per selected package, sorted by
name. Exits with code 3 and apk's error report when the world cannot be
satisfied.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return apkError(g, runAPKResolve(cmd.Context(), o, ro, g, args))
		},
	}
	cmd.Flags().BoolVarP(&ro.Latest, "latest", "l", false, "always choose the latest available version")
	return cmd
}

func runAPKResolve(ctx context.Context, o *APKOptions, ro *APKResolveOptions, g *Globals, args []string) error {
	d, err := openAPKDatabase(ctx, g, o, apkDatabase{withRoot: o.Root != "", simulate: true})
	if err != nil {
		return err
	}
	db := d.DB
	world := append([]solver.Dep(nil), db.World...)
	var flags uint16
	if ro.Latest {
		flags |= solver.FlagLatest
	}
	for _, a := range args {
		dep, err := apk.ParseDependency(a)
		if err != nil {
			return usagef("%v", err)
		}
		world = append(world, db.ResolveDep(dep))
	}
	cs, nerr, err := db.SolveContext(ctx, flags, world)
	if err != nil {
		return err
	}
	if nerr > 0 {
		db.PrintErrors(cs, world, solver.Output{Stdout: g.Stdout, Stderr: g.Stderr})
		return solver.ErrUnsatisfiable
	}
	var res resolveResult
	for _, w := range world {
		res.World = append(res.World, db.WorldString(&w))
	}
	for _, c := range cs.Changes {
		p := c.New
		if p == nil {
			continue
		}
		res.Order = append(res.Order, p.NameVersion())
		rp := resolvedPackage{
			Name: p.Name.Name, Version: p.Version, Arch: p.Arch,
			Checksum: p.Checksum.String(), Size: p.Size, Installed: p.InstalledSize,
		}
		if r := d.RepositoryOf(p); r != nil {
			rp.Repository = r.URL
		}
		res.Packages = append(res.Packages, rp)
	}
	sort.Slice(res.Packages, func(i, j int) bool {
		a, b := res.Packages[i], res.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return apk.CompareVersions(a.Version, b.Version) == apk.VersionLess
	})
	if o.JSON {
		return writeJSON(g.Stdout, res)
	}
	for _, p := range res.Packages {
		fmt.Fprintf(g.Stdout, "%s-%s\n", p.Name, p.Version)
	}
	return nil
}
