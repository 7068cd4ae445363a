package compose

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// DHCP's name servers on a read-only /etc: busybox udhcpc, which
// ifupdown-ng runs for an "inet dhcp" interface, writes the name servers
// it is given to $RESOLV_CONF (/etc/resolv.conf) through a temporary file
// beside it, and fails on a read-only /etc. For a system that uses DHCP
// and declares no /etc/resolv.conf of its own, cairn points both at /run:
// udhcpc.conf says RESOLV_CONF="/run/resolv.conf", and /etc/resolv.conf is
// a link to it, as systemd-resolved's is to its file under /run.
const (
	runResolvConf = "/run/resolv.conf"
	udhcpcScript  = "usr/share/udhcpc/default.script"
	udhcpcConf    = "etc/udhcpc/udhcpc.conf"
)

func writeResolvConf(r *rootFS, sys *manifest.System) error {
	if !usesDHCP(sys.Network) || declares(sys.Files, "/etc/resolv.conf") {
		return nil
	}
	if _, err := r.stat(udhcpcScript); err != nil {
		return nil // no udhcpc: its DHCP client is someone else's
	}
	if _, err := r.stat("etc/resolv.conf"); err == nil {
		return nil // a package's file: left alone
	}
	conf, err := r.readFile(udhcpcConf)
	if err != nil {
		conf = nil
	}
	line := fmt.Sprintf("RESOLV_CONF=%q", runResolvConf)
	if !bytes.Contains(conf, []byte("\n"+line+"\n")) && !bytes.HasPrefix(conf, []byte(line+"\n")) {
		if len(conf) > 0 && conf[len(conf)-1] != '\n' {
			conf = append(conf, '\n')
		}
		conf = append(conf, "# cairn: /etc is read-only; /etc/resolv.conf links here\n"+line+"\n"...)
		if err := r.mkdirAll("etc/udhcpc", 0o755, 0, 0); err != nil {
			return err
		}
		if err := writeConfig(r, udhcpcConf, conf); err != nil {
			return fmt.Errorf("network: %s: %w", udhcpcConf, err)
		}
	}
	if err := r.symlink("etc/resolv.conf", runResolvConf, 0, 0); err != nil {
		return fmt.Errorf("network: /etc/resolv.conf: %w", err)
	}
	return nil
}

// usesDHCP reports whether the network configuration has an interface
// configured by DHCP.
func usesDHCP(n manifest.Network) bool {
	for _, i := range n.Ifaces {
		if i.DHCP {
			return true
		}
	}
	for _, line := range strings.Split(n.Interfaces, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "iface" && f[3] == "dhcp" || len(f) >= 2 && f[0] == "use" && f[1] == "dhcp" {
			return true
		}
	}
	return false
}

// declares reports whether the manifest's inline files include path.
func declares(f manifest.Files, path string) bool {
	for _, in := range f.Inline {
		if in.Path == path {
			return true
		}
	}
	return false
}
