package kexec

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// machine records what Reboot asks of it.
type machine struct {
	calls       []string
	shutdownErr error
	kexecErr    error
}

func (m *machine) Shutdown(context.Context) error {
	m.calls = append(m.calls, "shutdown")
	return m.shutdownErr
}
func (m *machine) Sync() { m.calls = append(m.calls, "sync") }
func (m *machine) Kexec() error {
	m.calls = append(m.calls, "kexec")
	return m.kexecErr
}
func (m *machine) Restart() error {
	m.calls = append(m.calls, "restart")
	return errors.New("restart refused")
}

func TestReboot(t *testing.T) {
	for _, tc := range []struct {
		name            string
		shutdown, kexec error
		want            string
		log             []string
	}{
		// A kexec that works does not return; the fake's returns nil
		// only to show Reboot then goes on to the firmware.
		{"shutdown, sync, kexec", nil, errors.New("no kernel is loaded"), "shutdown sync kexec sync restart", []string{"rebooting through the firmware instead"}},
		{"a failed shutdown goes on", errors.New("openrc: exit status 1"), errors.New("EINVAL"), "shutdown sync kexec sync restart", []string{"shutdown: openrc: exit status 1 (going on", "kexec: EINVAL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &machine{shutdownErr: tc.shutdown, kexecErr: tc.kexec}
			var log strings.Builder
			err := Reboot(context.Background(), m, &log)
			if got := strings.Join(m.calls, " "); got != tc.want {
				t.Errorf("calls %q, want %q", got, tc.want)
			}
			if err == nil || !strings.Contains(err.Error(), "restart refused") {
				t.Errorf("error %v, want the kexec's and the restart's", err)
			}
			for _, w := range tc.log {
				if !strings.Contains(log.String(), w) {
					t.Errorf("console lacks %q:\n%s", w, log.String())
				}
			}
		})
	}
}
