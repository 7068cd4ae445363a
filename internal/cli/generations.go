package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/node"
)

// GenerationsOptions are the options of `cairn generations`.
type GenerationsOptions struct {
	Store StoreOptions
	Size  bool
	JSON  bool
}

func newGenerationsCommand(g *Globals) *cobra.Command {
	o := &GenerationsOptions{}
	cmd := &cobra.Command{
		Use:   "generations [--json]",
		Short: "List the generations in the store",
		Long: `List the store's generations: number, creation time, package count, kernel,
what each is (booted, default, trial with the boots it has left, last good,
pinned) and its description. The space each takes (exclusive: what deleting it
frees; shared with other generations) is shown when the store's btrfs has
quotas on, which makes it cheap, or with --size, which otherwise reads the
extents of every file.
` + storeExitCodes,
		Args: noArgsUsage("generations"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerations(o, g)
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	cmd.Flags().BoolVar(&o.Size, "size", false, "measure each generation's space even without quotas (slow: reads every file's extents)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runGenerations(o *GenerationsOptions, g *Globals) error {
	n, err := o.Store.inspect(g)
	if err != nil {
		return err
	}
	report, err := n.Generations(o.Size)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(g.Stdout, report)
	}
	if len(report.Generations) == 0 {
		fmt.Fprintf(g.Stdout, "no generations in %s (cairn build makes them)\n", report.Store)
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 0, 2, ' ', 0)
	header := "GEN\tCREATED\tPACKAGES\tKERNEL\t"
	if report.Sized {
		header += "EXCLUSIVE\tSHARED\t"
	}
	fmt.Fprintln(tw, header+"STATUS\tDESCRIPTION")
	for _, e := range report.Generations {
		pkgs, kernel := strconv.Itoa(e.Packages), orDash(printable(e.Kernel))
		if e.Recovered {
			pkgs, kernel = "?", "?"
		}
		line := fmt.Sprintf("%d\t%s\t%s\t%s\t", e.Number, e.Created.Local().Format("2006-01-02 15:04"), pkgs, kernel)
		if e.Size != nil {
			line += humanBytes(e.Size.Exclusive) + "\t" + humanBytes(e.Size.Shared) + "\t"
		}
		fmt.Fprintln(tw, line+orDash(statusText(e))+"\t"+printable(e.Description))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	st := report.State
	switch next := st.NextBoot(); {
	case next == 0:
		fmt.Fprintln(g.Stdout, "next boot: nothing (no default; cairn switch --permanent N sets one)")
	case next == st.Trial.Generation:
		fmt.Fprintf(g.Stdout, "next boot: generation %d, as a trial; then %s\n", next, orNothing(st.Default))
	default:
		fmt.Fprintf(g.Stdout, "next boot: generation %d\n", next)
	}
	return nil
}

func orNothing(n int) string {
	if n == 0 {
		return "nothing (no default)"
	}
	return fmt.Sprintf("generation %d, the default", n)
}

func statusText(e node.GenerationEntry) string {
	parts := make([]string, 0, len(e.Marks))
	for _, m := range e.Marks {
		if m == "trial" {
			m = fmt.Sprintf("trial (%s left)", plural(e.TriesLeft, "boot"))
		}
		parts = append(parts, m)
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanBytes writes a size in binary units: "512 B", "1.5 KiB", "12 MiB".
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f, unit = f/1024, u
		if f < 1024 {
			break
		}
	}
	if f < 10 {
		return fmt.Sprintf("%.1f %s", f, unit)
	}
	return fmt.Sprintf("%.0f %s", f, unit)
}
