package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDriftAndCaptureCommands(t *testing.T) {
	gen, live, dir := t.TempDir(), t.TempDir(), t.TempDir()
	for root, files := range map[string]map[string]string{
		gen:  {"etc/cairn/persist": "/var\n", "var/lib/app/app.conf": "one\n"},
		live: {"var/lib/app/app.conf": "edited\n"},
		dir:  {"system.yaml": "apiVersion: cairn/v1\nkind: System\nalpine:\n  repositories: [{url: https://example.org/main}]\n"},
	} {
		for p, c := range files {
			os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
			if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, out, errOut := run(t, "drift", "--root", live, "--generation", gen, "--openrc-dir", "")
	if code != 0 || strings.TrimSpace(out) != "changed  /var/lib/app/app.conf (content)" {
		t.Errorf("drift: %d %q %q", code, out, errOut)
	}
	mf := filepath.Join(dir, "system.yaml")
	code, out, errOut = run(t, "capture", "-f", mf, "--root", live, "/var/lib/app/app.conf")
	if code != 0 || out != mf+": /var/lib/app/app.conf: added files.inline[0]\n" {
		t.Errorf("capture: %d %q %q", code, out, errOut)
	}
	code, _, errOut = run(t, "drift", "--generation", filepath.Join(gen, "none"))
	if code != 1 || !strings.Contains(errOut, "no booted generation at") {
		t.Errorf("drift without a generation: %d %q", code, errOut)
	}
}
