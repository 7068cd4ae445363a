// Package liveroot makes another generation the running system's root
// without a reboot: the steps cairn-init takes at boot (docs/boot.md,
// "From power-on to switch_root"), taken on the running system, ending in
// pivot_root(2) instead of switch_root. See docs/live-switch.md.
package liveroot

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mount is one line of /proc/self/mountinfo, as far as Swap needs it.
type Mount struct {
	ID, Parent int
	// Point is the mount point, unescaped.
	Point string
}

// ParseMountinfo reads /proc/self/mountinfo's format (proc(5)).
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			return nil, fmt.Errorf("mountinfo line %d: %d fields, want at least 5", line, len(f))
		}
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("mountinfo line %d: mount IDs %q %q are not numbers", line, f[0], f[1])
		}
		out = append(out, Mount{ID: id, Parent: parent, Point: unescape(f[4])})
	}
	return out, sc.Err()
}

// unescape undoes the kernel's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// RootChildren are the mount points mounted directly on the root mount
// (the last mount on "/"), in mount order: what the new root must get
// too.
func RootChildren(ms []Mount) []string {
	root := -1
	for _, m := range ms {
		if m.Point == "/" {
			root = m.ID
		}
	}
	var out []string
	for _, m := range ms {
		if m.Parent == root && m.ID != root && m.Point != "/" {
			out = append(out, m.Point)
		}
	}
	return out
}
