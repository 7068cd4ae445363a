package nosync

import (
	"os"
	"testing"

	"github.com/cairnlinux/cairn/internal/reexec"
)

func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}
