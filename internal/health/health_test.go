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

	"github.com/cairnlinux/cairn/internal/compose"
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
	h := compose.Health{Checks: []compose.HealthCheck{
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
	h.Checks = append(h.Checks, compose.HealthCheck{Name: "never", Command: "never", TimeoutSeconds: 1}, compose.HealthCheck{Name: "ntpd", Service: "ntpd", TimeoutSeconds: 1})
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

// TestRealShell runs command checks through the real /bin/sh.
func TestRealShell(t *testing.T) {
	r := &Runner{Interval: time.Millisecond, OpenRCDir: t.TempDir()}
	res := r.Run(context.Background(), compose.Health{Checks: []compose.HealthCheck{
		{Name: "ok", Command: "test -d /", TimeoutSeconds: 1},
		{Name: "bad", Command: "echo oops >&2; exit 3", TimeoutSeconds: 1},
	}})
	if !res[0].Passed || res[1].Passed || !strings.Contains(res[1].Detail, "oops") {
		t.Errorf("%+v", res)
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	if h, err := Load(root); err != nil || len(h.Checks) != 0 {
		t.Errorf("no file: %+v %v", h, err)
	}
	os.MkdirAll(filepath.Join(root, "etc/cairn"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/cairn/health.json"), []byte(`{"checks":[{"name":"a","service":"sshd","timeoutSeconds":5}]}`), 0o644)
	if h, err := Load(root); err != nil || len(h.Checks) != 1 || h.Checks[0].Service != "sshd" {
		t.Errorf("%+v %v", h, err)
	}
	os.WriteFile(filepath.Join(root, "etc/cairn/health.json"), []byte(`{"checks":[{"nme":"a"}]}`), 0o644)
	if _, err := Load(root); err == nil || !strings.Contains(err.Error(), "health.json") {
		t.Errorf("bad file: %v", err)
	}
}

// TestSecretsCheck: a generation with secrets passes only when this
// boot's activation put each in place; the failure names the secret.
func TestSecretsCheck(t *testing.T) {
	root := t.TempDir()
	r := &Runner{OpenRCDir: t.TempDir(), Root: root}
	if res := r.Run(context.Background(), compose.Health{}); len(res) != 1 {
		t.Fatalf("without secrets there is no secrets check: %+v", res)
	}
	write := func(rel, content string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(secrets.SpecPath, `{"secrets": [{"name": "db", "path": "/run/secrets/db"}, {"name": "env", "path": "/run/secrets/env"}]}`)
	res := r.Run(context.Background(), compose.Health{})
	if len(res) != 2 || res[1].Name != "secrets" || res[1].Passed || !strings.Contains(res[1].Detail, "the cairn-secrets service did not run") {
		t.Fatalf("no activation: %+v", res)
	}
	write(secrets.StatusPath, `{"secrets": [{"name": "db", "state": "failed", "error": "this node cannot decrypt it"}, {"name": "env", "state": "written"}]}`)
	write("/run/secrets/env", "x")
	res = r.Run(context.Background(), compose.Health{})
	if Passed(res) || res[1].Detail != "secret db: this node cannot decrypt it" {
		t.Fatalf("one failed: %+v", res)
	}
	write(secrets.StatusPath, `{"secrets": [{"name": "db", "state": "written"}, {"name": "env", "state": "unchanged"}]}`)
	if res := r.Run(context.Background(), compose.Health{}); Passed(res) || !strings.Contains(res[1].Detail, "secret db: /run/secrets/db is missing") {
		t.Fatalf("a missing file: %+v", res)
	}
	write("/run/secrets/db", "x")
	if res := r.Run(context.Background(), compose.Health{}); !Passed(res) {
		t.Fatalf("all in place: %+v", res)
	}
}
