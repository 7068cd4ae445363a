package cli

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/fleetlock/etcdtest"
)

// startServer runs a serving cairn command in-process until the test
// ends and returns the URL it says it serves on.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, args, Stdio{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: pw})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("cairn %s said nothing", args[0])
	}
	m := regexp.MustCompile(` on (http://127\.0\.0\.1:[0-9]+)/$`).FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("cairn %s: %q", args[0], sc.Text())
	}
	go io.Copy(io.Discard, pr)
	return m[1]
}

// TestFleetLockCommands: cairn fleetlock serve, in memory and on etcd,
// with cairn fleetlock lock and unlock as its clients.
func TestFleetLockCommands(t *testing.T) {
	e := etcdtest.Start(t)
	for _, backend := range [][]string{nil, {"--etcd", e.Endpoint()}} {
		url := startServer(t, append([]string{"fleetlock", "serve", "--listen", "127.0.0.1:0", "--group", "workers=1"}, backend...)...)
		code, stdout, stderr := run(t, "fleetlock", "lock", "--url", url, "--id", "a", "--group", "workers")
		if code != 0 || stdout != "a holds a reboot slot in group workers\n" {
			t.Errorf("%v: lock a: exit %d %q %q", backend, code, stdout, stderr)
		}
		code, _, stderr = run(t, "fleetlock", "lock", "--url", url, "--id", "b", "--group", "workers")
		if code != ExitFailure || !strings.Contains(stderr, "refused (409 failed_lock): every reboot slot is taken: 1 of 1, held by [a]") {
			t.Errorf("%v: lock b: exit %d %q", backend, code, stderr)
		}
		code, _, stderr = run(t, "fleetlock", "lock", "--url", url, "--id", "b")
		if code != ExitFailure || !strings.Contains(stderr, `unknown group "default"`) {
			t.Errorf("%v: lock in group default: exit %d %q", backend, code, stderr)
		}
		if code, stdout, _ := run(t, "fleetlock", "unlock", "--url", url, "--id", "a", "--group", "workers"); code != 0 || stdout != "a holds no reboot slot in group workers\n" {
			t.Errorf("%v: unlock a: exit %d %q", backend, code, stdout)
		}
		if code, _, stderr := run(t, "fleetlock", "lock", "--url", url, "--id", "b", "--group", "workers"); code != 0 {
			t.Errorf("%v: lock b after a: exit %d %q", backend, code, stderr)
		}
	}
	if code, _, stderr := run(t, "fleetlock", "serve", "--group", "workers"); code != ExitUsage || !strings.Contains(stderr, "NAME=SLOTS") {
		t.Errorf("bad --group: exit %d %q", code, stderr)
	}
}
