package cli

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/fleetlock"
)

// FleetLockServeOptions are the options of `cairn fleetlock serve`.
type FleetLockServeOptions struct {
	Listen string
	Etcd   []string
	Groups []string
}

// groups parses NAME=SLOTS entries.
func (o *FleetLockServeOptions) groups() (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, g := range o.Groups {
		name, slots, ok := strings.Cut(g, "=")
		n, err := strconv.ParseUint(slots, 10, 32)
		if !ok || err != nil || n == 0 || name == "" {
			return nil, usagef("--group %q: the form is NAME=SLOTS, SLOTS at least 1 (e.g. --group workers=2)", g)
		}
		if _, dup := out[name]; dup {
			return nil, usagef("--group %s given twice", name)
		}
		out[name] = n
	}
	if len(out) == 0 {
		out["default"] = 1
	}
	return out, nil
}

func newFleetLockCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleetlock",
		Short: "Reboot slots for a fleet: a FleetLock server and client",
		Long: `FleetLock is the reboot-coordination protocol of Fedora CoreOS's Zincati: a
node takes a slot of its group before it reboots and gives it back once it is
healthy. cairn fleetlock serve is a server any FleetLock client can use;
lock and unlock are a client.`,
	}
	so := &FleetLockServeOptions{}
	serve := &cobra.Command{
		Use:   "serve [--etcd URL]... [--group NAME=SLOTS]... [--listen ADDR]",
		Short: "Serve FleetLock, with the semaphores in etcd (or in memory)",
		Long: `Serve the FleetLock protocol (POST /v1/pre-reboot, POST /v1/steady-state) and,
read-only, every group's slots and holders (GET /v1/groups). With --etcd the
semaphores live in etcd, under the key and in the encoding airlock uses
(com.coreos.airlock/groups/NAME/v1/semaphore), so locks survive the server and
several servers can share them; without it they live in this process's memory
(one machine's homelab: locks go when it stops). Groups not named are
refused; with no --group there is one, default=1. It runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			groups, err := so.groups()
			if err != nil {
				return err
			}
			var backend fleetlock.Backend = &fleetlock.Memory{}
			where := "memory"
			if len(so.Etcd) > 0 {
				backend, where = &fleetlock.Etcd{Endpoints: so.Etcd}, "etcd "+strings.Join(so.Etcd, ",")
			}
			srv := &fleetlock.Server{Backend: backend, Groups: groups,
				Log: func(format string, args ...any) { fmt.Fprintf(g.Stderr, "cairn: "+format+"\n", args...) }}
			var desc []string
			for _, name := range sortedKeys(groups) {
				desc = append(desc, fmt.Sprintf("%s=%d", name, groups[name]))
			}
			return serveHTTP(cmd.Context(), g, so.Listen, srv.Handler(), fmt.Sprintf("FleetLock (groups %s, semaphores in %s)", strings.Join(desc, " "), where))
		},
	}
	serve.Flags().StringVar(&so.Listen, "listen", "127.0.0.1:8471", "the address to listen on")
	serve.Flags().StringSliceVar(&so.Etcd, "etcd", nil, "etcd client URLs (comma-separated or repeated); none: in memory")
	serve.Flags().StringArrayVar(&so.Groups, "group", nil, "a group and its slots, NAME=SLOTS (repeatable; default default=1)")
	cmd.AddCommand(serve, newFleetLockClientCommand(g, true), newFleetLockClientCommand(g, false))
	return cmd
}

func newFleetLockClientCommand(g *Globals, lock bool) *cobra.Command {
	c := &fleetlock.Client{}
	var asJSON bool
	use, short := "lock", "Take a reboot slot (POST /v1/pre-reboot); exit 1 when refused"
	if !lock {
		use, short = "unlock", "Give the reboot slot back (POST /v1/steady-state)"
	}
	cmd := &cobra.Command{
		Use:   use + " --url URL [--id ID] [--group GROUP]",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.URL == "" {
				return usagef("fleetlock %s: --url is needed", use)
			}
			if c.ID == "" {
				id, err := machineID()
				if err != nil {
					return usagef("fleetlock %s: --id is needed (%v)", use, err)
				}
				c.ID = id
			}
			var err error
			if lock {
				err = c.Lock(cmd.Context())
			} else {
				err = c.Unlock(cmd.Context())
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.Stdout, map[string]any{"id": c.ID, "group": c.Group, "holdsSlot": lock})
			}
			what := map[bool]string{true: "holds a reboot slot", false: "holds no reboot slot"}[lock]
			fmt.Fprintf(g.Stdout, "%s %s in group %s\n", c.ID, what, c.Group)
			return nil
		},
	}
	cmd.Flags().StringVar(&c.URL, "url", "", "the FleetLock server's base URL")
	cmd.Flags().StringVar(&c.ID, "id", "", "this node's id (default: /etc/machine-id, else the host name)")
	cmd.Flags().StringVar(&c.Group, "group", "default", "this node's reboot group")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON")
	return cmd
}

// machineID is the node's FleetLock id when none is given: Zincati's
// choice is derived from /etc/machine-id; a node without one uses its
// host name.
func machineID() (string, error) {
	if b, err := os.ReadFile("/etc/machine-id"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", errors.New("no /etc/machine-id and no host name")
	}
	return h, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
