package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// alpineHosts is /etc/hosts as alpine-baselayout-data ships it, used when
// the root has none.
const alpineHosts = "127.0.0.1\tlocalhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n"

func writeHostname(r *rootFS, sys *manifest.System) error {
	if sys.Hostname == "" {
		return nil
	}
	if err := checkHostname(sys.Hostname); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	if err := writeConfig(r, "etc/hostname", []byte(sys.Hostname+"\n")); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	return nil
}

// checkHostname accepts dot-separated labels of letters, digits and '-'
// (not first or last), each up to 63 characters, 253 in all.
func checkHostname(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a valid host name: labels of 1-63 letters, digits and '-' (not first or last), separated by dots", name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%q is not a valid host name: labels of 1-63 letters, digits and '-' (not first or last), separated by dots", name)
			}
		}
	}
	return nil
}

func writeHosts(r *rootFS, sys *manifest.System) error {
	if sys.Hostname == "" && len(sys.Hosts) == 0 {
		return nil
	}
	existing, err := r.readFile("etc/hosts")
	if errors.Is(err, fs.ErrNotExist) {
		existing, err = []byte(alpineHosts), nil
	}
	if err != nil {
		return fmt.Errorf("hosts: %w", err)
	}
	data, err := renderHosts(existing, sys.Hostname, sys.Hosts)
	if err != nil {
		return err
	}
	if err := writeConfig(r, "etc/hosts", data); err != nil {
		return fmt.Errorf("hosts: %w", err)
	}
	return nil
}

// renderHosts keeps the root's /etc/hosts and its layout, puts the host
// name (a full name first, then its first label) at the front of the
// 127.0.0.1 line, and appends the declared entries. Existing lines for a
// declared address give way to the declared entry, so rendering again is
// a no-op.
func renderHosts(existing []byte, hostname string, entries []manifest.HostEntry) ([]byte, error) {
	declared := map[netip.Addr]bool{}
	var add []string
	for i, e := range entries {
		addr, err := netip.ParseAddr(e.Address)
		if err != nil {
			return nil, fmt.Errorf("hosts[%d]: address %q is not an IP address", i, e.Address)
		}
		if declared[addr] {
			return nil, fmt.Errorf("hosts[%d]: address %s is declared twice", i, e.Address)
		}
		if len(e.Names) == 0 {
			return nil, fmt.Errorf("hosts[%d] (%s): names: at least one name is needed", i, e.Address)
		}
		for j, n := range e.Names {
			if err := checkHostname(n); err != nil {
				return nil, fmt.Errorf("hosts[%d] (%s): names[%d]: %w", i, e.Address, j, err)
			}
		}
		declared[addr] = true
		add = append(add, e.Address+"\t"+strings.Join(e.Names, " "))
	}

	var names []string
	if hostname != "" {
		names = append(names, hostname)
		if short, _, ok := strings.Cut(hostname, "."); ok {
			names = append(names, short)
		}
	}
	var out []string
	loopback := false
	for _, line := range strings.Split(strings.TrimSuffix(string(existing), "\n"), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			out = append(out, line)
			continue
		}
		addr, err := netip.ParseAddr(fields[0])
		if err == nil && declared[addr] {
			continue
		}
		if fields[0] == "127.0.0.1" && !loopback && len(names) > 0 {
			loopback = true
			line = "127.0.0.1\t" + strings.Join(mergeNames(names, fields[1:]), " ")
		}
		out = append(out, line)
	}
	if !loopback && len(names) > 0 {
		out = append([]string{"127.0.0.1\t" + strings.Join(mergeNames(names, []string{"localhost", "localhost.localdomain"}), " ")}, out...)
	}
	out = append(out, add...)
	return []byte(strings.Join(out, "\n") + "\n"), nil
}

// mergeNames is first followed by the names of rest not in it.
func mergeNames(first, rest []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string{}, first...), rest...) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
