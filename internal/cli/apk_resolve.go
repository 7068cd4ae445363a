package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/engine"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// apkDatabase says what apkEngine opens besides the --repository
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

// apkEngine opens the apk engine the apk options describe: ROOT's state
// when what says so, plus the --repository indexes; apk-tools' test mode
// with --test-repo, --test-instdb or --test-world.
func apkEngine(ctx context.Context, g *Globals, o *APKOptions, what apkDatabase) (*engine.Engine, error) {
	out := g.Stdout
	if o.JSON {
		// The change lines make way for one JSON document (runAPKCommit).
		out = io.Discard
	}
	opts := []engine.Option{
		engine.WithOutput(out, g.Stderr),
		engine.WithForceBrokenWorld(o.Force || o.ForceBrokenWorld),
	}
	if o.testMode() {
		opts = append(opts, engine.WithTestMode(engine.TestFiles{
			Repos:     o.TestRepos,
			Installed: o.TestInstdb,
			World:     o.TestWorld,
			NoNetwork: o.NoNetwork,
		}))
		return engine.New(ctx, opts...)
	}
	repos, err := engine.ParseRepositories(o.Repositories)
	if err != nil {
		return nil, usagef("--repository: %v", err)
	}
	opts = append(opts, engine.WithRepositories(repos...))
	cache := o.CacheDir
	if cache == "" {
		cache = defaultCacheDir(g)
	}
	opts = append(opts,
		engine.WithKeysDir(o.KeysDir),
		engine.WithArch(o.Arch),
		engine.WithAllowUntrusted(o.AllowUntrusted),
		engine.WithNoNetwork(o.NoNetwork),
		engine.WithInitDB(what.create),
		engine.WithSimulate(what.simulate),
		engine.WithCacheDir(cache),
		engine.WithClock(buildTime(g)),
		engine.WithInstall(engine.InstallOptions{
			NoScripts:      o.NoScripts,
			ForceOverwrite: o.Force || o.ForceOverwrite,
			ScriptsTime:    sourceDateEpoch(g),
		}),
	)
	if what.withRoot {
		root := o.Root
		if root == "" {
			root = "/"
		}
		opts = append(opts, engine.WithRoot(root))
	}
	return engine.New(ctx, opts...)
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
	e, err := apkEngine(ctx, g, o, apkDatabase{withRoot: o.Root != "", simulate: true})
	if err != nil {
		return err
	}
	deps, err := e.Deps(args)
	if err != nil {
		return usagef("%v", err)
	}
	world := append(append([]solver.Dep(nil), e.DB().World...), deps...)
	sol, err := e.ResolveDeps(ctx, world, engine.ResolveOptions{Latest: ro.Latest})
	if err != nil {
		return err
	}
	res := resolveResult{World: sol.World}
	for _, p := range sol.Packages {
		res.Order = append(res.Order, p.NameVersion())
		res.Packages = append(res.Packages, resolvedPackage{
			Name: p.Name.Name, Version: p.Version, Arch: p.Arch,
			Checksum: p.Checksum.String(), Size: p.Size, Installed: p.InstalledSize,
			Repository: e.RepositoryOf(p),
		})
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
