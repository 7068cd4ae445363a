package tenant

import (
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// pageSize is what the kernel keeps memory limits in: a memory.max
// written in bytes reads back rounded down to whole pages.
const pageSize = 4096

// sameValue reports whether got, read from a cgroup file, is the limit
// want the manifest asked for. The kernel normalizes what it is given
// (memory.max 4G reads 4294967296; cpu.max 200000 reads "200000 100000"),
// so the settings cairn knows are compared by meaning; others by text.
func sameValue(file, want, got string) bool {
	want, got = strings.TrimSpace(want), strings.TrimSpace(got)
	switch {
	case strings.HasPrefix(file, "memory."):
		if want == "max" || got == "max" {
			return want == got
		}
		w, err1 := manifest.ParseSize(want)
		g, err2 := strconv.ParseUint(got, 10, 64)
		return err1 == nil && err2 == nil && w/pageSize*pageSize == g
	case file == "cpu.max":
		wf, gf := strings.Fields(want), strings.Fields(got)
		if len(wf) == 0 || len(gf) != 2 || wf[0] != gf[0] {
			return false
		}
		return len(wf) == 1 || wf[1] == gf[1]
	}
	return want == got
}
