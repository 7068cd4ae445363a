package compose

import (
	"encoding/json"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// SnapshotsCron is the script busybox crond runs every 15 minutes (the
// root crontab of Alpine's base layout runs /etc/periodic/15min): it
// takes the snapshots that are due and prunes the old ones.
const SnapshotsCron = "/etc/periodic/15min/cairn-snapshots"

// writeSnapshots records the manifest's snapshot schedules
// (layout.SnapshotsFile) and installs the cron script that keeps them;
// ApplyDefaults put crond in the default runlevel.
func writeSnapshots(r *rootFS, sys *manifest.System) error {
	var sched []layout.SnapshotSchedule
	for _, s := range sys.Snapshots {
		sched = append(sched, layout.SnapshotSchedule{Path: s.Path, Every: s.Every, PreserveMin: s.PreserveMin, Preserve: s.Preserve})
	}
	if len(sched) == 0 {
		return nil
	}
	data, err := json.MarshalIndent(sched, "", "  ")
	if err != nil {
		return err
	}
	if err := writeConfig(r, layout.SnapshotsFile[1:], append(data, '\n')); err != nil {
		return err
	}
	script := "#!/bin/sh\n# cairn: the snapshots of persistent directories the manifest schedules (snapshots:).\nexec " + layout.CairnBinary + " snapshots take --due --quiet\n"
	return r.writeFile(SnapshotsCron[1:], []byte(script), 0o755, 0, 0)
}
