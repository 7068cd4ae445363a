package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/gendiff"
	"github.com/cairnlinux/cairn/internal/store"
)

// DiffOptions are the options of `cairn diff`.
type DiffOptions struct {
	Store StoreOptions
	JSON  bool
}

func newDiffCommand(g *Globals) *cobra.Command {
	o := &DiffOptions{}
	cmd := &cobra.Command{
		Use:   "diff [A [B]] [--json]",
		Short: "Show what changed between two generations",
		Long: `Compare generation A with generation B: packages installed, removed, upgraded
and downgraded; the kernel and its command line; services per runlevel; users
and groups; mounts; and files that changed outside what the packages explain
(a package file edited afterwards counts, with the package named).

Without arguments, A is the booted generation (else the default) and B the
newest; with one, B is the one given. A or B may also be a directory holding
a root tree (a build's --root). Differences do not make the exit code
non-zero.
` + storeExitCodes,
		Args: argsUsage(0, 2, "diff [A [B]]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(o, g, args)
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the differences as JSON")
	return cmd
}

// diffSide is one side of a diff: a generation or a directory.
type diffSide struct {
	Generation int    `json:"generation,omitempty"`
	Path       string `json:"path"`
}

func (d diffSide) String() string {
	if d.Generation != 0 {
		return "generation " + strconv.Itoa(d.Generation)
	}
	return d.Path
}

type diffReport struct {
	From diffSide `json:"from"`
	To   diffSide `json:"to"`
	*gendiff.Diff
}

func runDiff(o *DiffOptions, g *Globals, args []string) error {
	// Arguments that are not numbers are directories and need no store.
	var s *store.Store
	needStore := len(args) < 2
	for _, a := range args {
		if isNumber(a) {
			needStore = true
		}
	}
	if needStore {
		var err error
		if s, err = o.Store.open(g); err != nil {
			return err
		}
	}
	var from, to diffSide
	var err error
	switch len(args) {
	case 0, 1:
		if from, err = defaultFrom(s); err != nil {
			return err
		}
		if len(args) == 0 {
			to, err = newestSide(s)
		} else {
			to, err = side(s, args[0])
		}
	default:
		if from, err = side(s, args[0]); err == nil {
			to, err = side(s, args[1])
		}
	}
	if err != nil {
		return err
	}
	d, err := gendiff.Compare(from.Path, to.Path)
	if err != nil {
		return fmt.Errorf("diff %s and %s: %w", from, to, err)
	}
	if o.JSON {
		return writeJSON(g.Stdout, diffReport{From: from, To: to, Diff: d})
	}
	if d.Empty() {
		fmt.Fprintf(g.Stdout, "%s and %s do not differ\n", from, to)
		return nil
	}
	fmt.Fprintf(g.Stdout, "from %s to %s:\n%s", from, to, d.Text())
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// side resolves an argument: a generation number, or a directory.
func side(s *store.Store, arg string) (diffSide, error) {
	if !isNumber(arg) {
		return diffSide{Path: arg}, nil
	}
	n, err := parseGeneration(arg)
	if err != nil {
		return diffSide{}, err
	}
	if err := requireGeneration(s, n); err != nil {
		return diffSide{}, fmt.Errorf("diff: %w", err)
	}
	gen, err := s.Get(n)
	if err != nil {
		return diffSide{}, err
	}
	return diffSide{Generation: n, Path: gen.Path}, nil
}

// defaultFrom is the booted generation, else the default.
func defaultFrom(s *store.Store) (diffSide, error) {
	st, err := s.State()
	if err != nil {
		return diffSide{}, fmt.Errorf("diff: %w", err)
	}
	n := st.Booted
	if n == 0 {
		n = st.Default
	}
	if n == 0 {
		return diffSide{}, fmt.Errorf("diff: no generation is booted or the default in %s: name two generations (cairn diff A B)", s.Dir())
	}
	return side(s, strconv.Itoa(n))
}

func newestSide(s *store.Store) (diffSide, error) {
	gens, err := s.Generations()
	if err != nil {
		return diffSide{}, err
	}
	if len(gens) == 0 {
		return diffSide{}, fmt.Errorf("diff: the store %s has no generations", s.Dir())
	}
	last := gens[len(gens)-1]
	return diffSide{Generation: last.Number, Path: last.Path}, nil
}
