package openrc

import (
	"os"
	"testing"

	"github.com/cairnlinux/cairn/internal/reexec"
)

func TestMain(m *testing.M) {
	reexec.Init() // the OpenRC sandbox child runs here (sandbox_test.go)
	os.Exit(m.Run())
}
