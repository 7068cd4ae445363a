package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/node"
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

// sideName names a side of a diff: "generation N", or the directory.
func sideName(d node.DiffSide) string {
	if d.Generation != 0 {
		return "generation " + strconv.Itoa(d.Generation)
	}
	return d.Path
}

func runDiff(o *DiffOptions, g *Globals, args []string) error {
	// Arguments that are not numbers are directories and need no store.
	var n *node.Node
	needStore := len(args) < 2
	for _, a := range args {
		if isNumber(a) {
			needStore = true
		}
	}
	if needStore {
		var err error
		if n, err = o.Store.inspect(g); err != nil {
			return err
		}
	}
	var from, to node.DiffSide
	var err error
	switch len(args) {
	case 0, 1:
		if from, err = n.RunningSide(); err != nil {
			return err
		}
		if len(args) == 0 {
			to, err = n.NewestSide()
		} else {
			to, err = side(n, args[0])
		}
	default:
		if from, err = side(n, args[0]); err == nil {
			to, err = side(n, args[1])
		}
	}
	if err != nil {
		return err
	}
	rep, err := node.Diff(from, to)
	if err != nil {
		return fmt.Errorf("diff %s and %s: %w", sideName(from), sideName(to), err)
	}
	if o.JSON {
		return writeJSON(g.Stdout, rep)
	}
	if rep.Empty() {
		fmt.Fprintf(g.Stdout, "%s and %s do not differ\n", sideName(from), sideName(to))
		return nil
	}
	fmt.Fprintf(g.Stdout, "from %s to %s:\n%s", sideName(from), sideName(to), rep.Text())
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// side resolves an argument: a generation number, or a directory.
func side(n *node.Node, arg string) (node.DiffSide, error) {
	if !isNumber(arg) {
		return node.DiffSide{Path: arg}, nil
	}
	num, err := parseGeneration(arg)
	if err != nil {
		return node.DiffSide{}, err
	}
	return n.Side(num)
}
