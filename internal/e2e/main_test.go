package e2e

import (
	"os"
	"testing"

	"github.com/cairnlinux/cairn/internal/reexec"
)

// TestMain lets the test binary serve as the children that run helper
// programs without sync(2) (e2etest.RunNoSync).
func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}
