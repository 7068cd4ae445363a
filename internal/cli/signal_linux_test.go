package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
)

// stallServer serves a repository directory over HTTP, except that a
// request whose path ends in stall never gets an answer: it reports
// itself on arrived and waits until the test ends.
func stallServer(t *testing.T, dir, stall string) (url string, arrived <-chan string) {
	t.Helper()
	ch := make(chan string, 16)
	release := make(chan struct{})
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, stall) {
			ch <- r.URL.Path
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		files.ServeHTTP(w, r)
	}))
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() { close(release) })
		srv.Close()
	})
	return srv.URL, ch
}

// interrupt starts cairn with args, sends it sig once the server saw the
// request it stalls, and returns the exit code, the output and how long
// cairn took to end after the signal. The command must end while the
// request is still stalled: that it ends at all shows it gave up.
func interrupt(t *testing.T, arrived <-chan string, sig syscall.Signal, args ...string) (int, string, time.Duration) {
	t.Helper()
	cmd := exec.Command(cairnBinary(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-arrived:
	case err := <-done:
		t.Fatalf("cairn %s ended before the stalled request (%v):\n%s", strings.Join(args, " "), err, out.String())
	}
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	// A guard against a hang, not a measurement.
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("cairn %s did not end after %v:\n%s", strings.Join(args, " "), sig, out.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), time.Since(sent)
}

// TestSignalsEndResolveAndInstall sends SIGTERM and SIGINT to cairn while
// it resolves (an index download that never ends) and while it installs
// (a package download that never ends): cairn ends with exit 130 and
// leaves the root and the cache as they were.
func TestSignalsEndResolveAndInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	repo := apktest.NewRepo(t, dir)
	repo.Add(apktest.Pkg("base", "1-r0").File("etc/base", 0o644, "base\n"))
	repo.Add(apktest.Pkg("more", "1-r0").Depends("base").File("usr/share/more", 0o644, "more\n"))
	repo.Write()
	rel, err := filepath.Rel(dir, repo.PackagePath("more", "1-r0"))
	if err != nil {
		t.Fatal(err)
	}

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cache := t.TempDir()
			t.Run("resolve", func(t *testing.T) {
				url, arrived := stallServer(t, dir, "APKINDEX.tar.gz")
				code, out, took := interrupt(t, arrived, sig, "apk", "resolve", "--keys-dir", repo.KeysDir, "--cache-dir", cache, "--repository", url, "more")
				t.Logf("ended %v after the signal", took)
				if code != ExitCancelled || !strings.Contains(out, "cancelled") {
					t.Errorf("exit %d, want %d (cancelled):\n%s", code, ExitCancelled, out)
				}
				if names := dirNames(t, cache); len(names) != 0 {
					t.Errorf("the cache holds %v", names)
				}
			})
			t.Run("install", func(t *testing.T) {
				root := t.TempDir()
				if code, _, errOut := run(t, "apk", "add", "--root", root, "--initdb", "--keys-dir", repo.KeysDir, "--repository", repo.URL(), "base"); code != 0 {
					t.Fatalf("first install: exit %d: %s", code, errOut)
				}
				before := strings.Join(describeTree(t, root), "\n")
				url, arrived := stallServer(t, dir, rel)
				code, out, took := interrupt(t, arrived, sig, "apk", "add", "--root", root, "--keys-dir", repo.KeysDir, "--cache-dir", cache, "--repository", url, "more")
				t.Logf("ended %v after the signal", took)
				if code != ExitCancelled || !strings.Contains(out, "cancelled") {
					t.Errorf("exit %d, want %d (cancelled):\n%s", code, ExitCancelled, out)
				}
				if d := lineDiff(before, strings.Join(describeTree(t, root), "\n")); d != "" {
					t.Errorf("the root changed:\n%s", d)
				}
				for _, n := range dirNames(t, cache) {
					if strings.HasSuffix(n, ".apk") || strings.HasSuffix(n, ".part") {
						t.Errorf("the cache holds %s", n)
					}
				}
			})
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
