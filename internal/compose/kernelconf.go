package compose

import (
	"fmt"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

func writeSysctl(r *rootFS, sys *manifest.System) error {
	if len(sys.Sysctl) == 0 {
		return nil
	}
	var b strings.Builder
	for _, k := range sortedKeys(sys.Sysctl) {
		v := sys.Sysctl[k]
		if k == "" || strings.ContainsAny(k, " \t\n=#;") {
			return fmt.Errorf("sysctl: %q is not a kernel parameter name (net.ipv4.ip_forward)", k)
		}
		if strings.ContainsAny(v, "\n\r") {
			return fmt.Errorf("sysctl.%s: the value may not contain a line break", k)
		}
		fmt.Fprintf(&b, "%s = %s\n", k, v)
	}
	if err := writeConfig(r, "etc/sysctl.d/00-cairn.conf", []byte(b.String())); err != nil {
		return fmt.Errorf("sysctl: %w", err)
	}
	return nil
}

// writeModules lists the modules to load at boot, in the declared order
// (which is the loading order), for OpenRC's modules service.
func writeModules(r *rootFS, sys *manifest.System) error {
	if len(sys.Modules) == 0 {
		return nil
	}
	var b strings.Builder
	for i, m := range sys.Modules {
		if m == "" || strings.ContainsAny(m, " \t\n#;/") {
			return fmt.Errorf("modules[%d]: %q is not a module name", i, m)
		}
		b.WriteString(m + "\n")
	}
	if err := writeConfig(r, "etc/modules-load.d/cairn.conf", []byte(b.String())); err != nil {
		return fmt.Errorf("modules: %w", err)
	}
	return nil
}

// writeCmdline records the kernel command line, one line, for the boot
// loader entries of later steps (layout.CmdlineFile).
func writeCmdline(r *rootFS, sys *manifest.System) error {
	for i, a := range sys.Kernel.Cmdline {
		if a == "" || strings.ContainsAny(a, "\n\r\x00") {
			return fmt.Errorf("kernel.cmdline[%d]: %q: an argument may not be empty or contain a line break", i, a)
		}
	}
	line := strings.Join(sys.Kernel.Cmdline, " ") + "\n"
	if err := writeConfig(r, strings.TrimPrefix(layout.CmdlineFile, "/"), []byte(line)); err != nil {
		return fmt.Errorf("kernel.cmdline: %w", err)
	}
	return nil
}
