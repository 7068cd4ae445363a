package openrc

import (
	"maps"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// ConfD renders /etc/conf.d/NAME for service name, which OpenRC sources
// before the init script: the cgroup v2 limits of s.Cgroup as
// rc_cgroup_settings, one "file value" line per limit in key order,
// which OpenRC writes into the service's cgroup when it starts it.
// Validate first: ConfD quotes every value, so an invalid service gives
// a harmless file, but not a working one.
func ConfD(name string, s manifest.Service) []byte {
	return Script{Name: name, Service: s}.ConfD()
}

// ConfD renders the script's /etc/conf.d file as ConfD does.
func (sc Script) ConfD() []byte {
	s := sc.Service
	var b strings.Builder
	writeHeader(&b, sc.source())
	if len(s.Cgroup) > 0 {
		lines := make([]string, 0, len(s.Cgroup))
		for _, k := range slices.Sorted(maps.Keys(s.Cgroup)) {
			lines = append(lines, k+" "+s.Cgroup[k])
		}
		b.WriteString("\n# cgroup v2 limits, one \"file value\" a line, written by OpenRC into the\n")
		b.WriteString("# service's cgroup when it starts the service.\n")
		assign(&b, "rc_cgroup_settings", strings.Join(lines, "\n"))
	}
	return []byte(b.String())
}
