package compose

import (
	"encoding/json"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/snapshots"
)

// SnapshotsCron is the script busybox crond runs every 15 minutes (the
// root crontab of Alpine's base layout runs /etc/periodic/15min): it
// takes the snapshots that are due and prunes the old ones.
const SnapshotsCron = "/etc/periodic/15min/cairn-snapshots"

// writeSnapshots records the manifest's snapshot schedules
// (snapshots.ConfigPath) and installs the cron script that keeps them;
// ApplyDefaults put crond in the default runlevel.
func writeSnapshots(r *rootFS, sys *manifest.System) error {
	sched := snapshots.FromManifest(sys)
	if len(sched) == 0 {
		return nil
	}
	data, err := json.MarshalIndent(sched, "", "  ")
	if err != nil {
		return err
	}
	if err := writeConfig(r, snapshots.ConfigPath[1:], append(data, '\n')); err != nil {
		return err
	}
	script := "#!/bin/sh\n# cairn: the snapshots of persistent directories the manifest schedules (snapshots:).\nexec " + CairnBinaryPath + " snapshots take --due --quiet\n"
	return r.writeFile(SnapshotsCron[1:], []byte(script), 0o755, 0, 0)
}
