package compose

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func writeInterfaces(r *rootFS, sys *manifest.System) error {
	n := sys.Network
	if n.Interfaces == "" && len(n.Ifaces) == 0 {
		return writeLoopbackOnly(r)
	}
	if n.Interfaces != "" && len(n.Ifaces) > 0 {
		return errors.New("network: interfaces and ifaces are two ways to say the same thing: use one")
	}
	data := []byte(n.Interfaces)
	if n.Interfaces == "" {
		var err error
		if data, err = renderInterfaces(n.Ifaces); err != nil {
			return err
		}
	} else if !strings.HasSuffix(n.Interfaces, "\n") {
		data = append(data, '\n')
	}
	if err := writeConfig(r, "etc/network/interfaces", data); err != nil {
		return fmt.Errorf("network.interfaces: %w", err)
	}
	return nil
}

// loopbackOnly is /etc/network/interfaces for a system whose manifest
// declares no network: the loopback, and nothing reaches outside.
const loopbackOnly = "auto lo\niface lo inet loopback\n"

// writeLoopbackOnly gives a system that has OpenRC's networking service
// (ifupdown-ng) but no /etc/network/interfaces the loopback alone:
// without the file the service fails, and every service that needs the
// network (chronyd, sshd) with it. A file the packages brought is kept;
// the manifest's files, written later, win.
func writeLoopbackOnly(r *rootFS) error {
	if _, err := r.stat("etc/init.d/networking"); err != nil {
		return nil
	}
	if _, err := r.stat("etc/network/interfaces"); err == nil {
		return nil
	}
	if err := writeConfig(r, "etc/network/interfaces", []byte(loopbackOnly)); err != nil {
		return fmt.Errorf("/etc/network/interfaces (the loopback only: the manifest declares no network): %w", err)
	}
	return nil
}

// renderInterfaces writes /etc/network/interfaces the way Alpine's
// setup-interfaces does, which ifupdown-ng reads: the loopback first, then
// one stanza per interface in the declared order, options indented by a
// tab, stanzas separated by a blank line. An interface is "inet dhcp"
// when it uses DHCP, "inet static" with addresses (CIDR form, IPv4 and
// IPv6 alike), else "inet manual".
func renderInterfaces(ifaces []manifest.Interface) ([]byte, error) {
	stanzas := []string{"auto lo\niface lo inet loopback\n"}
	seen := map[string]int{}
	for i, ifc := range ifaces {
		key := fmt.Sprintf("network.ifaces[%d] (%s)", i, ifc.Name)
		if err := checkIfaceName(ifc.Name); err != nil {
			return nil, fmt.Errorf("network.ifaces[%d]: name: %w", i, err)
		}
		if ifc.Name == "lo" {
			return nil, fmt.Errorf("%s: the loopback is always configured; leave lo out", key)
		}
		if j, dup := seen[ifc.Name]; dup {
			return nil, fmt.Errorf("%s: declared again (first as network.ifaces[%d])", key, j)
		}
		seen[ifc.Name] = i

		var b strings.Builder
		if ifc.Auto == nil || *ifc.Auto {
			fmt.Fprintf(&b, "auto %s\n", ifc.Name)
		}
		method := "manual"
		switch {
		case ifc.DHCP:
			method = "dhcp"
		case len(ifc.Address) > 0:
			method = "static"
		}
		fmt.Fprintf(&b, "iface %s inet %s\n", ifc.Name, method)
		for j, p := range ifc.BridgePorts {
			if err := checkIfaceName(p); err != nil {
				return nil, fmt.Errorf("%s: bridgePorts[%d]: %w", key, j, err)
			}
		}
		if len(ifc.BridgePorts) > 0 {
			fmt.Fprintf(&b, "\tbridge-ports %s\n", strings.Join(ifc.BridgePorts, " "))
		}
		for j, a := range ifc.Address {
			if _, err := netip.ParsePrefix(a); err != nil {
				return nil, fmt.Errorf("%s: address[%d]: %q is not an address in CIDR form (10.0.0.5/24, fd00::5/64)", key, j, a)
			}
			fmt.Fprintf(&b, "\taddress %s\n", a)
		}
		if ifc.Gateway != "" {
			if _, err := netip.ParseAddr(ifc.Gateway); err != nil {
				return nil, fmt.Errorf("%s: gateway: %q is not an IP address", key, ifc.Gateway)
			}
			fmt.Fprintf(&b, "\tgateway %s\n", ifc.Gateway)
		}
		stanzas = append(stanzas, b.String())
	}
	return []byte(strings.Join(stanzas, "\n")), nil
}

// checkIfaceName accepts Linux interface names: 1-15 bytes, no white
// space, '/' or ':' (ifupdown-ng's alias syntax is not a name).
func checkIfaceName(name string) error {
	if name == "" || len(name) > 15 || strings.ContainsAny(name, " \t\n/:#") {
		return fmt.Errorf("%q is not an interface name (1-15 characters, no spaces, '/' or ':')", name)
	}
	return nil
}
