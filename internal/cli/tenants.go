package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/tenant"
)

// TenantsOptions are the options of `cairn tenants` and its subcommands.
type TenantsOptions struct {
	// Root is the booted system whose plan is read (its
	// /etc/cairn/tenants.json); / on a node.
	Root string
	JSON bool
	// Daemon keeps `tenants snapshot` running, taking each snapshot when
	// it is due.
	Daemon bool
}

func (o *TenantsOptions) node() (*tenant.Node, tenant.Plan, error) {
	p, err := tenant.ReadPlan(o.Root)
	if err != nil {
		return nil, p, err
	}
	return tenant.Booted(), p, nil
}

func newTenantsCommand(g *Globals) *cobra.Command {
	o := &TenantsOptions{}
	cmd := &cobra.Command{
		Use:   "tenants [--json]",
		Short: "Show the tenants' use against their quotas and limits",
		Long: `Show, on a node, each tenant (kind: UserProfile) of the booted generation:
its home's data against its quota, its login sessions' and services' memory,
CPU time and processes against their cgroup limits, and the kernel's OOM
kills; then the other services with limits. See docs/tenants.md.

` + exitCodeHelp,
		Args: noArgsUsage("tenants"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, p, err := o.node()
			if err != nil {
				return err
			}
			r := n.Report(p)
			if o.JSON {
				return writeJSON(g.Stdout, r)
			}
			printTenants(g.Stdout, r)
			return nil
		},
	}
	addTenantFlags(cmd, o, true)
	cmd.AddCommand(newTenantsCheckCommand(g), newTenantsApplyCommand(g), newTenantsSnapshotCommand(g), newTenantsSSHCommand(g), newTenantsRunCommand(g))
	return cmd
}

func addTenantFlags(cmd *cobra.Command, o *TenantsOptions, json bool) {
	cmd.Flags().StringVar(&o.Root, "root", "/", "the booted system whose tenants these are")
	if json {
		cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	}
}

func newTenantsCheckCommand(g *Globals) *cobra.Command {
	o := &TenantsOptions{}
	cmd := &cobra.Command{
		Use:   "check [--json]",
		Short: "Read every declared limit back; fail when one did not take effect",
		Long: `Read back every cgroup limit the booted generation declares (services',
containers' and the tenants' sessions'), each home's quota and each network
namespace, and fail when one did not take effect: OpenRC skips a limit whose
controller is not enabled without a word. A trial boot runs this check (the
health check "limits") before it is confirmed.

` + exitCodeHelp,
		Args: noArgsUsage("tenants check"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, p, err := o.node()
			if err != nil {
				return err
			}
			problems := n.Check(p)
			var failed error
			if len(problems) > 0 {
				failed = reported(ExitFailure, fmt.Errorf("%s did not take effect", plural(len(problems), "limit")))
			}
			if o.JSON {
				if problems == nil {
					problems = []tenant.Problem{}
				}
				if err := writeJSON(g.Stdout, tenantsCheck{Limits: len(p.Limits), Problems: problems}); err != nil {
					return err
				}
				return failed
			}
			if failed != nil {
				// The problems last: a health check shows the end of
				// what its command printed.
				fmt.Fprintf(g.Stdout, "%v:\n", failed)
				for _, pr := range problems {
					fmt.Fprintln(g.Stdout, pr)
				}
				return failed
			}
			fmt.Fprintf(g.Stdout, "%s in effect\n", plural(len(p.Limits), "limit"))
			return nil
		},
	}
	addTenantFlags(cmd, o, true)
	return cmd
}

// tenantsCheck is `cairn tenants check --json`.
type tenantsCheck struct {
	Limits   int              `json:"limits"`
	Problems []tenant.Problem `json:"problems"`
}

func newTenantsApplyCommand(g *Globals) *cobra.Command {
	o := &TenantsOptions{}
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Apply the tenants' cgroups, home quotas and network namespaces (at boot)",
		Long: `Apply the booted generation's tenants: a cgroup for each tenant's login
sessions with its limits (the controllers enabled from the top of the
hierarchy down), each home's quota (btrfs simple quotas where the kernel has
them, else qgroups), and each network namespace with its firewall profile.
The cairn-tenants service runs it in the boot runlevel.

` + exitCodeHelp,
		Args: noArgsUsage("tenants apply"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, p, err := o.node()
			if err != nil {
				return err
			}
			if err := n.Apply(p); err != nil {
				return err
			}
			if o.JSON {
				return writeJSON(g.Stdout, tenantsApplied{Tenants: len(p.Tenants)})
			}
			return nil
		},
	}
	addTenantFlags(cmd, o, true)
	return cmd
}

func newTenantsSnapshotCommand(g *Globals) *cobra.Command {
	o := &TenantsOptions{}
	cmd := &cobra.Command{
		Use:   "snapshot [--daemon]",
		Short: "Snapshot the tenants' homes that are due, and drop what retention lets go",
		Long: `Take a read-only snapshot of every tenant's home whose snapshot_interval has
passed since its last one (into @cairn/snapshots/home-NAME/ of the store),
and delete the snapshots its snapshot_retention does not keep. With --daemon
it keeps doing so, waking when the next one is due: the cairn-snapshots
service.

` + exitCodeHelp,
		Args: noArgsUsage("tenants snapshot"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, p, err := o.node()
			if err != nil {
				return err
			}
			next, err := runTenantSnapshots(cmd.Context(), g, n, p, o.Daemon)
			if err == nil && o.JSON {
				return writeJSON(g.Stdout, tenantsSnapshot{Next: next})
			}
			return err
		},
	}
	addTenantFlags(cmd, o, true)
	cmd.Flags().BoolVar(&o.Daemon, "daemon", false, "keep running, taking each snapshot when it is due")
	return cmd
}

// runTenantSnapshots takes the snapshots that are due, once or, as a daemon,
// for as long as ctx lasts: a failed round is reported and tried again
// an interval later, so one full disk does not stop the schedule.
func runTenantSnapshots(ctx context.Context, g *Globals, n *tenant.Node, p tenant.Plan, daemon bool) (next time.Time, err error) {
	for {
		next, err = n.SnapshotRound(p)
		if !daemon || next.IsZero() {
			return next, err
		}
		if err != nil {
			fmt.Fprintf(g.Stderr, "cairn: %v\n", err)
		}
		select {
		case <-ctx.Done():
			return next, ctx.Err()
		case <-time.After(time.Until(next)):
		}
	}
}

// tenantsKeys is `cairn tenants ssh-session --json`.
type tenantsKeys struct {
	Keys []string `json:"keys"`
}

// tenantsApplied is `cairn tenants apply --json`.
type tenantsApplied struct {
	Tenants int `json:"tenants"`
}

// tenantsSnapshot is `cairn tenants snapshot --json`: when the next
// snapshot is due (absent when none ever is).
type tenantsSnapshot struct {
	Next time.Time `json:"next,omitzero"`
}

func newTenantsSSHCommand(g *Globals) *cobra.Command {
	o := &TenantsOptions{}
	cmd := &cobra.Command{
		Use:   "ssh-session USER",
		Short: "sshd's AuthorizedKeysCommand for tenants",
		Long: `sshd's AuthorizedKeysCommand for the tenants (set up by the build, run as
root): it puts the connection's privileged sshd process, whose children run
the session, into the tenant's cgroup, then prints the tenant's keys from the
booted generation. A tenant whose connection cannot be put there gets no key.

` + exitCodeHelp,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, p, err := o.node()
			if err != nil {
				return err
			}
			if !o.JSON {
				return n.SSHSession(p, args[0], os.Getppid(), g.Stdout)
			}
			var keys strings.Builder
			if err := n.SSHSession(p, args[0], os.Getppid(), &keys); err != nil {
				return err
			}
			out := tenantsKeys{Keys: []string{}}
			for _, k := range strings.Split(keys.String(), "\n") {
				if k != "" {
					out.Keys = append(out.Keys, k)
				}
			}
			return writeJSON(g.Stdout, out)
		},
	}
	addTenantFlags(cmd, o, true)
	return cmd
}

func newTenantsRunCommand(g *Globals) *cobra.Command {
	o := &TenantsOptions{}
	var ns, who string
	cmd := &cobra.Command{
		Use:   "run --netns NAME --user USER[:GROUP] -- PROGRAM [ARG...]",
		Short: "Run a tenant's service in its network namespace",
		Long: `Replace cairn by PROGRAM, run in the network namespace NAME (/run/netns/NAME)
as USER: how a service of a tenant with a network namespace starts (entering
the namespace needs root, so OpenRC starts cairn as root, and cairn becomes
the tenant).

` + exitCodeHelp,
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ns == "" || who == "" {
				return usagef("tenants run needs --netns and --user")
			}
			n := tenant.Booted()
			if n.Network == nil {
				return fmt.Errorf("network namespaces are not supported here")
			}
			return n.Network.RunIn(ns, who, args)
		},
	}
	addTenantFlags(cmd, o, true)
	cmd.Flags().StringVar(&ns, "netns", "", "the network namespace")
	cmd.Flags().StringVar(&who, "user", "", "the user (and group) to run as")
	return cmd
}

func printTenants(w io.Writer, r tenant.Report) {
	if len(r.Tenants) == 0 && len(r.Services) == 0 {
		fmt.Fprintln(w, "no tenants and no limits in this generation")
		return
	}
	for _, t := range r.Tenants {
		fmt.Fprintf(w, "tenant %s", t.Name)
		if t.Version != "" {
			fmt.Fprintf(w, " (profile %s)", t.Version)
		}
		fmt.Fprintln(w)
		home := "home " + t.Home
		switch {
		case t.HomeBytes != nil && t.QuotaBytes > 0:
			home += fmt.Sprintf(": %s of %s (%d%%)", humanBytes(int64(*t.HomeBytes)), humanBytes(int64(t.QuotaBytes)), *t.HomeBytes*100/t.QuotaBytes)
		case t.HomeBytes != nil:
			home += ": " + humanBytes(int64(*t.HomeBytes))
		case t.QuotaBytes > 0:
			home += ": quota " + humanBytes(int64(t.QuotaBytes)) + ", usage unknown (quotas off?)"
		}
		if t.Snapshots > 0 {
			home += fmt.Sprintf(", %s", plural(t.Snapshots, "snapshot"))
		}
		fmt.Fprintln(w, "  "+home)
		fmt.Fprintln(w, "  sessions: "+cgroupLine(t.Sessions))
		for _, s := range t.Services {
			fmt.Fprintf(w, "  %s: %s\n", s.Owner, cgroupLine(s))
		}
		if t.Namespace != "" {
			fmt.Fprintln(w, "  network namespace "+t.Namespace)
		}
	}
	for _, s := range r.Services {
		fmt.Fprintf(w, "%s: %s\n", s.Owner, cgroupLine(s))
	}
}

// cgroupLine says a cgroup's use against its limits in one line.
func cgroupLine(c tenant.CgroupReport) string {
	if !c.Running {
		return "not running (no cgroup " + c.Cgroup + ")"
	}
	parts := []string{"memory " + humanBytes(int64(c.MemoryBytes)) + limitOf(c.MemoryMax, func(s string) string {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return s
		}
		return humanBytes(n)
	})}
	cpu := fmt.Sprintf("cpu %.1f s", c.CPUSeconds)
	if c.CPUs > 0 {
		cpu += fmt.Sprintf(" (at most %g CPUs)", c.CPUs)
	}
	parts = append(parts, cpu)
	if c.Pids != nil {
		procs := fmt.Sprintf("%d processes", *c.Pids)
		if *c.Pids == 1 {
			procs = "1 process"
		}
		parts = append(parts, procs+limitOf(c.PidsMax, func(s string) string { return s }))
	}
	if c.OOMKills > 0 {
		parts = append(parts, plural(int(c.OOMKills), "OOM kill"))
	}
	return strings.Join(parts, ", ")
}

func limitOf(max string, format func(string) string) string {
	if max == "" || max == "max" {
		return ""
	}
	return " of " + format(max)
}
