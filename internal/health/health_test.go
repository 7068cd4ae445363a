package health

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/secrets"
)

func TestRun(t *testing.T) {
	openrc := t.TempDir()
	var tries atomic.Int32
	r := &Runner{
		Interval:  time.Millisecond,
		OpenRCDir: openrc,
		Ignore:    []string{"cairn-confirm"},
		// "slow" passes at its third try; "never" never does.
		Shell: func(_ context.Context, cmd string) ([]byte, error) {
			switch cmd {
			case "slow":
				if tries.Add(1) >= 3 {
					return nil, nil
				}
				return []byte("not yet"), errors.New("exit status 1")
			case "never":
				return []byte("connection refused"), errors.New("exit status 7")
			}
			return nil, nil
		},
		ServiceStarted: func(_ context.Context, name string) (bool, error) { return name == "sshd", nil },
	}
	h := layout.Health{Checks: []layout.HealthCheck{
		{Name: "sshd", Service: "sshd", TimeoutSeconds: 5},
		{Name: "slow", Command: "slow", TimeoutSeconds: 5},
	}}
	res := r.Run(context.Background(), h)
	if !Passed(res) || len(res) != 3 || res[1].Tries != 3 {
		t.Fatalf("%+v", res)
	}

	// A failed service fails the boot; cairn-confirm's own does not.
	os.MkdirAll(filepath.Join(openrc, "failed"), 0o755)
	os.Symlink("/etc/init.d/chronyd", filepath.Join(openrc, "failed", "chronyd"))
	os.Symlink("/etc/init.d/cairn-confirm", filepath.Join(openrc, "failed", "cairn-confirm"))
	h.Checks = append(h.Checks, layout.HealthCheck{Name: "never", Command: "never", TimeoutSeconds: 1}, layout.HealthCheck{Name: "ntpd", Service: "ntpd", TimeoutSeconds: 1})
	res = r.Run(context.Background(), h)
	if Passed(res) {
		t.Fatal("passed")
	}
	byName := map[string]Result{}
	for _, x := range res {
		byName[x.Name] = x
	}
	if x := byName["never"]; x.Passed || !strings.Contains(x.Detail, "connection refused") || !strings.Contains(x.Detail, "gave up") {
		t.Errorf("never: %+v", x)
	}
	if x := byName["ntpd"]; x.Passed || !strings.Contains(x.Detail, "not started") {
		t.Errorf("ntpd: %+v", x)
	}
	if x := byName["no failed services"]; x.Passed || x.Detail != "OpenRC reports failed services: chronyd" {
		t.Errorf("failed services: %+v", x)
	}
}

// TestCutShort: a try the timeout kills does not hide what the tries
// before it said.
func TestCutShort(t *testing.T) {
	var tries atomic.Int32
	r := &Runner{Interval: time.Millisecond, OpenRCDir: t.TempDir(),
		Shell: func(ctx context.Context, cmd string) ([]byte, error) {
			if tries.Add(1) == 1 {
				return []byte("pids.max 64 is not set"), errors.New("exit status 1")
			}
			<-ctx.Done()
			return nil, errors.New("signal: killed")
		}}
	res := r.Run(context.Background(), layout.Health{Checks: []layout.HealthCheck{{Name: "limits", Command: "check", TimeoutSeconds: 1}}})
	if res[0].Passed || res[0].Detail != "check: exit status 1: pids.max 64 is not set (gave up after 2 tries in 1s)" {
		t.Errorf("%+v", res[0])
	}
}

// TestRealShell runs command checks through the real /bin/sh.
func TestRealShell(t *testing.T) {
	r := &Runner{Interval: time.Millisecond, OpenRCDir: t.TempDir()}
	res := r.Run(context.Background(), layout.Health{Checks: []layout.HealthCheck{
		{Name: "ok", Command: "test -d /", TimeoutSeconds: 1},
		{Name: "bad", Command: "echo oops >&2; exit 3", TimeoutSeconds: 1},
	}})
	if !res[0].Passed || res[1].Passed || !strings.Contains(res[1].Detail, "oops") {
		t.Errorf("%+v", res)
	}
}

// TestSecretsCheck: a generation with secrets passes only when this
// boot's activation put each in place; the failure names the secret.
func TestSecretsCheck(t *testing.T) {
	root := t.TempDir()
	r := &Runner{OpenRCDir: t.TempDir(), Root: root}
	if res := r.Run(context.Background(), layout.Health{}); len(res) != 1 {
		t.Fatalf("without secrets there is no secrets check: %+v", res)
	}
	write := func(rel, content string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(secrets.SpecPath, `{"secrets": [{"name": "db", "path": "/run/secrets/db"}, {"name": "env", "path": "/run/secrets/env"}]}`)
	res := r.Run(context.Background(), layout.Health{})
	if len(res) != 2 || res[1].Name != "secrets" || res[1].Passed || !strings.Contains(res[1].Detail, "the cairn-secrets service did not run") {
		t.Fatalf("no activation: %+v", res)
	}
	write(secrets.StatusPath, `{"secrets": [{"name": "db", "state": "failed", "error": "this node cannot decrypt it"}, {"name": "env", "state": "written"}]}`)
	write("/run/secrets/env", "x")
	res = r.Run(context.Background(), layout.Health{})
	if Passed(res) || res[1].Detail != "secret db: this node cannot decrypt it" {
		t.Fatalf("one failed: %+v", res)
	}
	write(secrets.StatusPath, `{"secrets": [{"name": "db", "state": "written"}, {"name": "env", "state": "unchanged"}]}`)
	if res := r.Run(context.Background(), layout.Health{}); Passed(res) || !strings.Contains(res[1].Detail, "secret db: /run/secrets/db is missing") {
		t.Fatalf("a missing file: %+v", res)
	}
	write("/run/secrets/db", "x")
	if res := r.Run(context.Background(), layout.Health{}); !Passed(res) {
		t.Fatalf("all in place: %+v", res)
	}
}
