package rollout

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

// TestMain lets this test binary be a node's reboot command in tests
// that run the real cairn (push --trial --reboot): with CAIRN_SIMBOOT_STORE
// set, it simulates a boot of that store (simBoot) and exits.
func TestMain(m *testing.M) {
	if dir := os.Getenv("CAIRN_SIMBOOT_STORE"); dir != "" {
		booted, out, err := simBoot(context.Background(), dir, os.Getenv("CAIRN_SIMBOOT_CAIRN"), os.Getenv("CAIRN_SIMBOOT_HEALTHY") == "yes", os.TempDir())
		fmt.Fprintf(os.Stderr, "simulated boot of generation %d: %v\n%s", booted, err, out)
		if err != nil && booted == 0 {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// simBoot is a simulated reboot of the node whose store is dir: what
// cairn-init does with the state (store.State.Boot), then the boot's
// cairn confirm --boot with the booted generation's own health checks
// (their commands see NODE_HEALTHY=yes or no). A failed confirmation is
// returned with its output, as the boot's console would show it.
func simBoot(ctx context.Context, dir, cairn string, healthy bool, tmp string) (int, []byte, error) {
	s, err := store.Open(dir)
	if err != nil {
		return 0, nil, err
	}
	unlock, err := s.Lock(ctx, true)
	if err != nil {
		return 0, nil, err
	}
	var booted int
	_, err = s.UpdateState(func(st store.State) (store.State, error) {
		st, booted = st.Boot()
		return st, nil
	})
	unlock()
	if err != nil {
		return 0, nil, err
	}
	g, err := s.Get(booted)
	if err != nil {
		return 0, nil, err
	}
	openrc, err := os.MkdirTemp(tmp, "openrc-")
	if err != nil {
		return booted, nil, err
	}
	defer os.RemoveAll(openrc)
	cmd := exec.CommandContext(ctx, cairn, "confirm", "--boot", "--store", dir, "--root", g.Path, "--openrc-dir", openrc)
	cmd.Env = append(os.Environ(), "NODE_HEALTHY="+map[bool]string{true: "yes", false: "no"}[healthy])
	out, err := cmd.CombinedOutput()
	return booted, out, err
}

// simBootCommand is the reboot command that runs simBoot on dir.
func simBootCommand(dir, cairn string, healthy bool) []string {
	self, _ := os.Executable()
	return []string{"env", "CAIRN_SIMBOOT_STORE=" + dir, "CAIRN_SIMBOOT_CAIRN=" + cairn, "CAIRN_SIMBOOT_HEALTHY=" + map[bool]string{true: "yes", false: "no"}[healthy], self}
}
