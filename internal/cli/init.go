package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

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
			made := false
			if _, err := os.Stat(args[0]); errors.Is(err, fs.ErrNotExist) {
				if err := os.MkdirAll(args[0], 0o755); err != nil {
					return err
				}
				made = true
			}
			st, err := store.Init(args[0], opts)
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("%s already holds a store: %w", args[0], err)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.Stdout, map[string]any{"store": st.Dir(), "backend": st.Backend(), "madeDir": made})
			}
			where := st.Dir()
			if made {
				where += " (made the directory)"
			}
			fmt.Fprintf(g.Stdout, "made a %s store in %s; cairn build --store %s adds generations\n", st.Backend(), where, st.Dir())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Backend, "backend", "", "btrfs or plain (default: btrfs when DIR is on btrfs)")
	f.BoolVar(&opts.Quota, "quota", false, "enable btrfs quota groups for exact sizes")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
