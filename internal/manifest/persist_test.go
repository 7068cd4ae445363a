package manifest

import (
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/layout"
)

// TestPersistAgreesWithCairnInit: a directory cairn validate accepts in
// persist is one cairn-init mounts from the persist list the build
// writes, and one it refuses, cairn-init would drop: validate says so
// before the node boots without it.
func TestPersistAgreesWithCairnInit(t *testing.T) {
	for _, p := range []string{
		"/var", "/home", "/var/log", "/etc/ssh", "/srv/my-data", "/var/tmp", "/usr/local", "/root",
		"/", "/tmp", "/tmp/cache", "/run", "/run/x", "/proc", "/proc/x", "/sys/fs", "/dev/shm",
		"/usr", "/etc", "/bin", "/sbin", "/lib", "/boot",
		"relative", "/var/lib/../x", "/var/log/", "//home",
	} {
		s := goodSystem()
		s.Persist = []string{p}
		validated := s.Validate() == nil
		mounted, _, err := layout.ParsePersist(strings.NewReader(p + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if validated != (len(mounted) == 1) {
			t.Errorf("persist %s: validate accepts it: %t; cairn-init mounts it: %t", p, validated, len(mounted) == 1)
		}
	}
}
