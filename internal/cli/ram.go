package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/ramboot"
)

// RAMOptions are the options of `cairn ram`.
type RAMOptions struct {
	// Media is where the boot media is mounted; on a RAM node cairn-init
	// mounts it (the cairn.persist= device) at /run/cairn/persist.
	Media string
	// Cmdline is the booted kernel's command line, which names the image
	// and the loader entry booted.
	Cmdline string
	JSON    bool
}

func (o *RAMOptions) media() ramboot.Media { return ramboot.Media{Dir: o.Media} }

func (o *RAMOptions) booted() ramboot.Booted {
	b, err := os.ReadFile(o.Cmdline)
	if err != nil {
		return ramboot.Booted{}
	}
	return ramboot.ParseCmdline(string(b))
}

func addRAMFlags(cmd *cobra.Command, o *RAMOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Media, "media", ramboot.DefaultDir, "the boot media's mount point (extlinux/ and cairn/ram/)")
	f.StringVar(&o.Cmdline, "cmdline", "/proc/cmdline", "the booted kernel's command line")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON (install, try, rollback: the media's state)")
}

// ramNode reports whether a store command runs on a RAM node booted
// from cairn's boot media without --store: status and rollback then
// speak of its images.
func ramNode(cmd *cobra.Command) bool {
	if cmd.Flags().Changed("store") || !node.RunsFromRAM("/") {
		return false
	}
	o := RAMOptions{Cmdline: "/proc/cmdline"}
	return o.booted().Image != ""
}

func newRAMCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ram",
		Short: "RAM images on a diskless node's boot media: install, trial, status, rollback",
		Long: `A diskless node boots a RAM image (cairn image --format initramfs) from its
boot media with extlinux: the entries regular, old and new. cairn ram try puts a
new image there and has extlinux boot it once (syslinux's boot-once); the node's
cairn confirm --boot makes it regular if its health checks pass, the previous
one old. Not confirmed, the next boot is the regular image again, with no
command in between. On the node the media is its persistence device, mounted by
cairn-init at /run/cairn/persist; cairn status and cairn rollback there speak of
its images. See docs/ram-trials.md.`,
	}
	install := &RAMOptions{}
	ic := &cobra.Command{
		Use:   "install --media DIR IMAGE",
		Short: "Make IMAGE the regular image of boot media (extlinux --install done), no trial",
		Args:  argsUsage(1, 1, "ram install --media DIR IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := install.media().Install(args[0])
			if err != nil {
				return err
			}
			if install.JSON {
				s, err := install.media().ReadState()
				if err != nil {
					return err
				}
				return writeJSON(g.Stdout, s)
			}
			fmt.Fprintf(g.Stdout, "image %s is the regular image on %s\n", name, install.Media)
			return nil
		},
	}
	addRAMFlags(ic, install)
	try := &RAMOptions{}
	tc := &cobra.Command{
		Use:   "try IMAGE",
		Short: "Copy IMAGE onto the boot media and boot it once, as a trial",
		Args:  argsUsage(1, 1, "ram try IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := try.media()
			name, err := m.Try(args[0])
			if err != nil {
				return err
			}
			s, err := m.ReadState()
			if err != nil {
				return err
			}
			if try.JSON {
				return writeJSON(g.Stdout, s)
			}
			fmt.Fprintf(g.Stdout, "image %s boots once at the next boot, as a trial; not confirmed, the boot after it is the regular image %s\n", name, s.Regular)
			return nil
		},
	}
	addRAMFlags(tc, try)
	status := &RAMOptions{}
	sc := &cobra.Command{
		Use:   "status",
		Short: "Show the running image, regular, old, trial and how the last trial ended",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runRAMStatus(g, status) },
	}
	addRAMFlags(sc, status)
	rollback := &RAMOptions{}
	rc := &cobra.Command{
		Use:   "rollback",
		Short: "Make the old image regular again (the regular one old), cancelling a trial",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runRAMRollback(g, rollback) },
	}
	addRAMFlags(rc, rollback)
	cmd.AddCommand(ic, tc, sc, rc)
	return cmd
}

func runRAMStatus(g *Globals, o *RAMOptions) error {
	st, err := o.media().Status(o.booted())
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(g.Stdout, st)
	}
	or := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	running := "not booted from an entry cairn wrote"
	if st.Booted.Image != "" {
		running = fmt.Sprintf("image %s (entry %s)", st.Booted.Image, st.Booted.Entry)
	}
	last := "none"
	if st.LastTrial != nil {
		last = st.LastTrial.How
	}
	fmt.Fprintf(g.Stdout, "running:    %s\nregular:    %s\nold:        %s\ntrial:      %s\nnext boot:  %s\nlast trial: %s\n",
		running, or(st.Regular), or(st.Old), or(st.Trial), st.NextBoot, last)
	return nil
}

func runRAMRollback(g *Globals, o *RAMOptions) error {
	s, err := o.media().Rollback()
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(g.Stdout, s)
	}
	fmt.Fprintf(g.Stdout, "rolled back: image %s boots next, as the regular image (%s is the old one)\n", s.Regular, s.Old)
	return nil
}

// confirmRAM is cairn confirm --boot's part on a RAM node booted from
// cairn's boot media: a trial whose checks passed becomes regular; a
// fallback boot records that the trial ended unconfirmed.
func confirmRAM(g *Globals, root string, passed bool) (string, error) {
	o := RAMOptions{Media: filepath.Join(root, ramboot.DefaultDir), Cmdline: "/proc/cmdline"}
	b := o.booted()
	if b.Image == "" {
		return "", nil
	}
	m := o.media()
	m.Warn = func(s string) { fmt.Fprintf(g.Stderr, "cairn: warning: %s\n", s) }
	if !passed {
		s, err := m.Settle(b)
		if err != nil {
			return "", err
		}
		if s.Trial == b.Image {
			return fmt.Sprintf("image %s is not confirmed: the next boot is the regular image %s", b.Image, s.Regular), nil
		}
		return "", nil
	}
	msg, err := m.Confirm(b)
	return "this system runs from RAM: its health checks passed; " + msg, err
}
