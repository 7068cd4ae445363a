package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/store"
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

// generationEntry is one generation in `cairn generations --json`.
type generationEntry struct {
	Number      int       `json:"number"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
	Parent      int       `json:"parent,omitempty"`
	Packages    int       `json:"packages"`
	Kernel      string    `json:"kernel,omitempty"`
	// Marks: "booted", "default", "trial", "last good", "pinned".
	Marks     []string `json:"marks"`
	TriesLeft int      `json:"triesLeft,omitempty"`
	NextBoot  bool     `json:"nextBoot,omitempty"`
	// Recovered: fsck rebuilt the metadata; packages and kernel are
	// unknown.
	Recovered bool         `json:"recovered,omitempty"`
	Size      *store.Usage `json:"size,omitempty"`
}

type generationsReport struct {
	Store       string            `json:"store"`
	Backend     string            `json:"backend"`
	State       store.State       `json:"state"`
	NextBoot    int               `json:"nextBoot"`
	Generations []generationEntry `json:"generations"`
}

func runGenerations(o *GenerationsOptions, g *Globals) error {
	s, err := o.Store.open(g)
	if err != nil {
		return err
	}
	gens, err := s.Generations()
	if err != nil {
		return err
	}
	st, err := s.State()
	if err != nil {
		return fmt.Errorf("%w (cairn fsck repairs it)", err)
	}
	sizes := o.Size || quotasOn(s)
	report := generationsReport{Store: s.Dir(), Backend: s.Backend(), State: st, NextBoot: st.NextBoot(), Generations: []generationEntry{}}
	for _, gen := range gens {
		e := generationEntry{
			Number: gen.Number, Created: gen.Meta.Created, Description: gen.Meta.Description, Parent: gen.Meta.Parent,
			Packages: len(gen.Meta.Packages), Kernel: gen.Meta.Kernel, Recovered: gen.Meta.Recovered,
			Marks: marks(st, gen.Number), NextBoot: st.NextBoot() == gen.Number,
		}
		if st.Trial.Generation == gen.Number {
			e.TriesLeft = st.Trial.TriesLeft
		}
		if sizes {
			u, err := s.Usage(gen.Number)
			if err != nil {
				return fmt.Errorf("size of generation %d: %w", gen.Number, err)
			}
			e.Size = &u
		}
		report.Generations = append(report.Generations, e)
	}
	if o.JSON {
		return writeJSON(g.Stdout, report)
	}
	if len(gens) == 0 {
		fmt.Fprintf(g.Stdout, "no generations in %s (cairn build makes them)\n", s.Dir())
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 0, 2, ' ', 0)
	header := "GEN\tCREATED\tPACKAGES\tKERNEL\t"
	if sizes {
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

// marks says what generation n is to the state.
func marks(st store.State, n int) []string {
	out := []string{}
	add := func(ok bool, what string) {
		if ok {
			out = append(out, what)
		}
	}
	add(st.Booted == n, "booted")
	add(st.Default == n, "default")
	add(st.Trial.Generation == n, "trial")
	add(st.LastGood == n, "last good")
	for _, p := range st.Pinned {
		add(p == n, "pinned")
	}
	return out
}

func statusText(e generationEntry) string {
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

// quotasOn reports whether the store's usage comes cheaply from btrfs
// quota groups.
func quotasOn(s *store.Store) bool {
	if s.Backend() != store.BackendBtrfs {
		return false
	}
	q, err := btrfs.Quota(s.Dir())
	if err != nil && !errors.Is(err, btrfs.ErrNotSupported) {
		return false
	}
	return q.Enabled && !q.Inconsistent && !q.Rescanning
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
