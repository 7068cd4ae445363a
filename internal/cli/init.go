package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

func newInitCommand(g *Globals) *cobra.Command {
	var opts store.InitOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Make a generation store in a directory",
		Long: `Make a generation store (DIR/@cairn) in DIR, which is made when missing: on a
node, the top level of its btrfs file system (subvolid=5). The backend is
btrfs when DIR is on btrfs (generations are read-only subvolumes, files
shared by reflink) and plain directories otherwise (files shared by hard
links); --backend chooses. --quota turns on btrfs quota groups, which make
the sizes cairn generations shows exact. cairn store remove DIR takes a
store away again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := node.InitStore(args[0], opts)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.Stdout, rep)
			}
			where := rep.Store
			if rep.MadeDir {
				where += " (made the directory)"
			}
			fmt.Fprintf(g.Stdout, "made a %s store in %s; cairn build --store %s adds generations\n", rep.Backend, where, rep.Store)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Backend, "backend", "", "btrfs or plain (default: btrfs when DIR is on btrfs)")
	f.BoolVar(&opts.Quota, "quota", false, "enable btrfs quota groups for exact sizes")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
