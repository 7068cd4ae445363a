package reexec

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func init() {
	Register("test-echo", func(args []string) int {
		os.Stdout.WriteString(strings.Join(args, ","))
		return len(args)
	})
}

func TestMain(m *testing.M) {
	Init()
	os.Exit(m.Run())
}

func TestCommand(t *testing.T) {
	out, err := Command("test-echo", "a", "b c").Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v", err)
	}
	if string(out) != "a,b c" {
		t.Errorf("output %q", out)
	}
}

func TestUnknownHandler(t *testing.T) {
	err := Command("no-such-handler").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 127 {
		t.Fatalf("exit: %v", err)
	}
}
