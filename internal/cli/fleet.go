package cli

import "github.com/spf13/cobra"

// fleetCommands are the commands that reach beyond one machine:
// delivering generations, reboot coordination, the fleet's status.
func fleetCommands(g *Globals) []*cobra.Command {
	return []*cobra.Command{
		newKeyCommand(g),
		newPushCommand(g),
		newReceiveCommand(g),
		newServeCommand(g),
		newPullCommand(g),
		newFleetLockCommand(g),
		newFleetCommand(g),
		newRolloutCommand(g),
	}
}
