package compose

import (
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// System writes the host settings of sys into the root, in this order:
// /etc/hostname and /etc/hosts, the time zone, /etc/network/interfaces
// (and, for DHCP, /etc/resolv.conf linked into /run), /etc/iwd/main.conf, /etc/fstab, /etc/sysctl.d/00-cairn.conf,
// /etc/modules-load.d/cairn.conf, /etc/cairn/cmdline,
// /etc/cairn/health.json and /etc/cairn/persist, and the mount points
// /dev, /proc, /sys, /run and /tmp, those of fstab and the persisted
// directories, and /boot in a bootable tree, where missing; for Alpine's sshd, host
// keys outside the read-only /etc/ssh. Settings the manifest
// leaves empty leave the root's files as they are (cmdline, health and
// persist are always written).
func System(root string, sys *manifest.System, mtime time.Time) error {
	if sys == nil {
		sys = &manifest.System{}
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	return composeSystem(r, sys)
}

// composeSystem is System on an open root.
func composeSystem(r *rootFS, sys *manifest.System) error {
	steps := []func(*rootFS, *manifest.System) error{
		writeHostname,
		writeHosts,
		writeTimezone,
		writeInterfaces,
		writeResolvConf,
		writeIWD,
		writeFstab,
		writeSysctl,
		writeModules,
		writeCmdline,
		writeHealth,
		writePersist,
		writeMountPoints,
		writeFstabMountPoints,
		writeSSHHostKeys,
		writeSnapshots,
	}
	for _, step := range steps {
		if err := step(r, sys); err != nil {
			return err
		}
	}
	return r.finish()
}

// writeConfig writes a configuration file 0644 root:root.
func writeConfig(r *rootFS, rel string, data []byte) error {
	return r.writeFile(rel, data, 0o644, 0, 0)
}
