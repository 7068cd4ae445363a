package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/fleet"
)

// FleetStatusOptions are the options of `cairn fleet status`.
type FleetStatusOptions struct {
	File        string
	JSON        bool
	Serve       string
	SSH         string
	RemoteCairn string
	Timeout     time.Duration
}

func newFleetCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "fleet", Short: "See the nodes of a fleet file"}
	o := &FleetStatusOptions{}
	status := &cobra.Command{
		Use:   "status -f fleet.yaml [--json] [--serve ADDR]",
		Short: "Per node: booted, default and newest generation, last trial, reboot slot",
		Long: `Read every node of the fleet file at once over ssh (the node's cairn status
--json and cairn generations --json) and the FleetLock server's holders, and
show per node the booted, default and newest generation, how its last trial
went and whether it holds a reboot slot. A node that cannot be read is shown
as unreachable, with why, and makes the exit code 1.

With --serve ADDR it serves the same as a read-only web page (GET /, reading
the nodes afresh on each load, reloading itself every 30 s) and as JSON (GET
/status.json) until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFleetStatus(cmd.Context(), o, g)
		},
	}
	f := status.Flags()
	f.StringVarP(&o.File, "file", "f", "fleet.yaml", "the fleet file")
	f.BoolVar(&o.JSON, "json", false, "print the status as JSON")
	f.StringVar(&o.Serve, "serve", "", "serve a read-only status page on ADDR instead of printing")
	f.StringVar(&o.SSH, "ssh", "", "the ssh command and its options, split at spaces (default: the fleet file's, else ssh)")
	f.StringVar(&o.RemoteCairn, "remote-cairn", "", "the cairn command on the nodes, split at spaces (default: the fleet file's, else cairn)")
	f.DurationVar(&o.Timeout, "timeout", 20*time.Second, "how long to wait for each node")
	cmd.AddCommand(status)
	return cmd
}

func runFleetStatus(ctx context.Context, o *FleetStatusOptions, g *Globals) error {
	file, err := fleet.Load(o.File)
	if err != nil {
		return usagef("%v", err)
	}
	var sshCmd, cairn []string
	if o.SSH != "" {
		sshCmd = strings.Fields(o.SSH)
	}
	if o.RemoteCairn != "" {
		cairn = strings.Fields(o.RemoteCairn)
	}
	sshNodes := file.SSHNodes(sshCmd, cairn)
	nodes := make([]fleet.Node, len(sshNodes))
	for i, n := range sshNodes {
		nodes[i] = n
	}
	collect := func(ctx context.Context) fleet.Report {
		return fleet.Collect(ctx, nodes, file.Nodes, file.FleetLock, o.Timeout)
	}
	if o.Serve != "" {
		page := &fleet.Page{Collect: collect, Refresh: 30 * time.Second}
		return serveHTTP(ctx, g, o.Serve, page.Handler(), "the status of "+plural(len(nodes), "node"))
	}
	rep := collect(ctx)
	if o.JSON {
		if err := writeJSON(g.Stdout, rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(g.Stdout); err != nil {
		return err
	}
	if n := rep.Unreachable(); n > 0 {
		return reported(ExitFailure, fmt.Errorf("%s of %d unreachable", plural(n, "node"), len(nodes)))
	}
	return nil
}
