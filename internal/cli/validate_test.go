package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

func writeManifest(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "system.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const validManifest = `apiVersion: cairn/v1
kind: System
alpine:
  repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]
packages: [alpine-base]
`

const invalidManifest = `apiVersion: cairn/v1
kind: System
alpine:
  repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]
packages: [alpine-base]
hostname: bad_name
services:
  define:
    nomad: {command: /usr/bin/nomad, supervisor: systemd}
`

func TestValidateCommand(t *testing.T) {
	good := writeManifest(t, validManifest)
	bad := writeManifest(t, invalidManifest)

	code, out, errOut := run(t, "validate", "-f", good)
	// The packages are not checked: the manifest names no keys.
	if code != ExitOK || out != good+": valid\n" || errOut != good+": not checked: packages, services and time zone: alpine.keys: empty: name the public keys that sign your repositories (for Alpine's, the keys of the alpine-keys package, e.g. /etc/apk/keys on an Alpine machine)\n" {
		t.Errorf("valid: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = run(t, "validate", "-f", good, "-f", bad)
	errOut = withoutNotes(errOut)
	want := bad + `:6:11: hostname: "bad_name" is not a host name`
	if code != ExitInvalidManifest || out != good+": valid\n" || !strings.HasPrefix(errOut, want) {
		t.Errorf("invalid: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, bad+`:9:50: services.define.nomad.supervisor: "systemd" is not a supervisor (use supervise-daemon or start-stop-daemon)`) {
		t.Errorf("second problem missing from\n%s", errOut)
	}
	if !strings.HasSuffix(errOut, "cairn: 2 problems in 2 manifests\n") {
		t.Errorf("no summary in\n%s", errOut)
	}

	code, out, errOut = run(t, "validate", "-f", filepath.Join(t.TempDir(), "absent.yaml"))
	if code != ExitInvalidManifest || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, _ := run(t, "validate", "-f", ""); code != ExitUsage {
		t.Errorf("empty -f: exit %d", code)
	}
}

func TestValidateCommandJSON(t *testing.T) {
	good := writeManifest(t, validManifest)
	bad := writeManifest(t, invalidManifest)
	code, out, errOut := run(t, "validate", "--json", "-f", good, "-f", bad)
	if code != ExitInvalidManifest || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var report struct {
		Valid     bool
		Manifests []struct {
			File   string
			Valid  bool
			Digest string
			Errors []struct {
				File         string
				Line, Column int
				Path         string
				Message      string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if report.Valid || len(report.Manifests) != 2 {
		t.Fatalf("report: %+v", report)
	}
	g, b := report.Manifests[0], report.Manifests[1]
	if !g.Valid || !strings.HasPrefix(g.Digest, "sha256:") || len(g.Errors) != 0 {
		t.Errorf("valid manifest: %+v", g)
	}
	if b.Valid || len(b.Errors) != 2 {
		t.Fatalf("invalid manifest: %+v", b)
	}
	e := b.Errors[0]
	if e.File != bad || e.Line != 6 || e.Column != 11 || e.Path != "hostname" || !strings.Contains(e.Message, "RFC 1123") {
		t.Errorf("first error: %+v", e)
	}
}

// TestValidateExamples runs cairn validate on the examples a user starts
// from.
func TestValidateExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	args := []string{"validate"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	if code, out, errOut := run(t, args...); code != ExitOK {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// withoutNotes drops validate's notes of what it did not check.
func withoutNotes(stderr string) string {
	var keep []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		if !strings.Contains(line, ": not checked: ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}
