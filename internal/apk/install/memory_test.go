//go:build linux

package install

import (
	"runtime"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// TestMemoryDoesNotGrowWithPackageSize installs a package holding a 1 MiB
// file and one holding a 64 MiB file: what the installer allocates must
// not grow with the size of the file, as it streams contents.
func TestMemoryDoesNotGrowWithPackageSize(t *testing.T) {
	allocated := func(size int) uint64 {
		e := newEnv(t)
		e.add(spec("big", "1", dir("usr"), apkfile.FileSpec{Path: "usr/big", Mode: 0o644, Data: make([]byte, size)}))
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e.mustAdd("big")
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small := allocated(1 << 20)
	large := allocated(64 << 20)
	t.Logf("allocated while installing: %d KiB for a 1 MiB file, %d KiB for a 64 MiB file", small>>10, large>>10)
	if large > small+4<<20 {
		t.Errorf("installing a 64 MiB file allocated %d MiB more than a 1 MiB one: contents are buffered", (large-small)>>20)
	}
}
