package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// run executes cairn in-process and returns its exit code and outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, Stdio{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
	return code, stdout.String(), stderr.String()
}

// TestAPKResolveFixtures checks that `cairn apk resolve` selects exactly
// the packages real apk-tools 2.14 selected for each world in
// ../shared/fixtures/alpine-v3.19/resolve.
func TestAPKResolveFixtures(t *testing.T) {
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	files, err := filepath.Glob(filepath.Join(fx, "resolve", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no resolve fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			world := strings.Fields(strings.TrimPrefix(lines[0], "# world: "))
			want := strings.Join(lines[1:], "\n") + "\n"

			args := []string{"apk", "resolve", "--keys-dir", filepath.Join(fx, "keys")}
			if strings.HasPrefix(name, "iso-") {
				args = append(args, "--repository", filepath.Join(fx, "iso-x86_64-APKINDEX.tar.gz"))
			} else {
				args = append(args,
					"--repository", filepath.Join(fx, "main-x86_64-APKINDEX.tar.gz"),
					"--repository", filepath.Join(fx, "community-x86_64-APKINDEX.tar.gz"))
			}
			code, got, stderr := run(t, append(args, world...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got != want {
				t.Errorf("selection differs from apk-tools 2.14:\n%s", lineDiff(want, got))
			}
		})
	}
}

func TestAPKResolveErrors(t *testing.T) {
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	iso := filepath.Join(fx, "iso-x86_64-APKINDEX.tar.gz")
	keys := filepath.Join(fx, "keys")

	code, _, stderr := run(t, "apk", "resolve", "--keys-dir", keys, "--repository", iso, "alpine-base", "no-such-package")
	if code != ExitUnsatisfiable {
		t.Errorf("unsatisfiable world: exit %d, want %d", code, ExitUnsatisfiable)
	}
	if !strings.Contains(stderr, "no-such-package (no such package):\n    required by: world[no-such-package]") {
		t.Errorf("report does not name the missing package:\n%s", stderr)
	}

	// An index signed by a key that is not trusted is refused...
	empty := t.TempDir()
	code, _, stderr = run(t, "apk", "resolve", "--keys-dir", empty, "--repository", iso, "alpine-base")
	if code == 0 || !strings.Contains(stderr, "UNTRUSTED") {
		t.Errorf("untrusted index: exit %d, stderr %q", code, stderr)
	}
	// ...unless the user says so.
	code, out, stderr := run(t, "apk", "resolve", "--keys-dir", empty, "--allow-untrusted", "--repository", iso, "alpine-base")
	if code != 0 || !strings.Contains(out, "alpine-base-3.19.1-r0\n") {
		t.Errorf("--allow-untrusted: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	code, _, stderr = run(t, "apk", "resolve", "--keys-dir", keys, "--repository", iso, "foo=")
	if code != ExitUsage || !strings.Contains(stderr, `"foo=" is not a valid dependency`) {
		t.Errorf("bad dependency: exit %d, stderr %q", code, stderr)
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
