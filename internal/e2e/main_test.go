package e2e

import (
	"os"
	"testing"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/reexec"
)

// TestMain lets the test binary serve as the children that run helper
// programs without sync(2) (e2etest.RunNoSync), and has its tests share
// the cairn binaries and test repositories (e2etest.Share).
func TestMain(m *testing.M) {
	reexec.Init()
	cleanup := e2etest.Share()
	code := m.Run()
	cleanup()
	os.Exit(code)
}
