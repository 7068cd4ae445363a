package compose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func writeIWD(r *rootFS, sys *manifest.System) error {
	if len(sys.Network.IWD) == 0 {
		return nil
	}
	data, err := renderIWD(sys.Network.IWD)
	if err != nil {
		return err
	}
	if err := writeConfig(r, "etc/iwd/main.conf", data); err != nil {
		return fmt.Errorf("network.iwd: %w", err)
	}
	return nil
}

// renderIWD writes iwd's main.conf: sections and their keys sorted, one
// "key=value" a line, a blank line between sections.
func renderIWD(conf map[string]map[string]string) ([]byte, error) {
	sections := sortedKeys(conf)
	var parts []string
	for _, s := range sections {
		if s == "" || strings.ContainsAny(s, "[]\n") {
			return nil, fmt.Errorf("network.iwd: section %q: a name without '[', ']' or line breaks is needed", s)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "[%s]\n", s)
		for _, k := range sortedKeys(conf[s]) {
			v := conf[s][k]
			if k == "" || strings.ContainsAny(k, "=[\n") || strings.TrimSpace(k) != k {
				return nil, fmt.Errorf("network.iwd.%s: key %q is not a valid key", s, k)
			}
			if strings.ContainsAny(v, "\n\r") {
				return nil, fmt.Errorf("network.iwd.%s.%s: the value may not contain a line break", s, k)
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		parts = append(parts, b.String())
	}
	return []byte(strings.Join(parts, "\n")), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
