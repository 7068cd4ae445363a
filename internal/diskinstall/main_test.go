package diskinstall

import (
	"os"
	"testing"

	"github.com/cairnlinux/cairn/internal/reexec"
)

// TestMain lets the test binary serve as the children the disk writer
// starts (reexec), as the cairn binary does.
func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}
