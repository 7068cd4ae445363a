package compose

import (
	"fmt"
	"os"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// Paths Confirm writes.
const (
	CairnInitPath     = layout.CairnInit
	ConfirmScriptPath = "/etc/init.d/cairn-confirm"
)

// confirmScript is the OpenRC service that confirms a booted generation:
// last in the default runlevel, it runs the health checks and, when they
// pass and no service failed, makes the generation the default. It runs
// in the foreground: the system counts as up only once it is confirmed.
const confirmScript = `#!/sbin/openrc-run
# Written by cairn.
description="Confirm this cairn generation once it is healthy"

depend() {
	after *
	keyword -shutdown
}

start() {
	ebegin "Checking this generation's health"
	` + layout.CairnBinary + ` confirm --boot
	eend $?
}
`

// Confirm installs cairn itself (the static binary at binary), the
// cairn-init its initramfs is made with (initBinary, when not empty) and
// the cairn-confirm service, started last in the default runlevel, into
// the root. A generation without them is never confirmed after a trial
// boot.
func Confirm(root, binary, initBinary string, mtime time.Time) error {
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	f, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("cairn-confirm: %w", err)
	}
	defer f.Close()
	if err := r.mkdirAll("usr/sbin", 0o755, 0, 0); err != nil {
		return err
	}
	if err := r.writeFrom(layout.CairnBinary[1:], f, 0o755, 0, 0); err != nil {
		return fmt.Errorf("cairn-confirm: %w", err)
	}
	if initBinary != "" {
		if err := copyInto(r, initBinary, CairnInitPath[1:]); err != nil {
			return fmt.Errorf("cairn-init: %w", err)
		}
	}
	if err := r.mkdirAll("etc/init.d", 0o755, 0, 0); err != nil {
		return err
	}
	if err := r.writeFile(ConfirmScriptPath[1:], []byte(confirmScript), 0o755, 0, 0); err != nil {
		return fmt.Errorf("cairn-confirm: %w", err)
	}
	if err := r.mkdirAll("etc/runlevels/default", 0o755, 0, 0); err != nil {
		return err
	}
	if err := r.symlink("etc/runlevels/default/cairn-confirm", ConfirmScriptPath, 0, 0); err != nil {
		return fmt.Errorf("cairn-confirm: %w", err)
	}
	return r.finish()
}

// copyInto copies the executable at src to rel in the root, 0755
// root:root.
func copyInto(r *rootFS, src, rel string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	dir, _ := rootfs.Split(rel)
	if err := r.mkdirAll(dir, 0o755, 0, 0); err != nil {
		return err
	}
	return r.writeFrom(rel, f, 0o755, 0, 0)
}
