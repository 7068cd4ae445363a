package layout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadHealth(t *testing.T) {
	root := t.TempDir()
	if h, err := ReadHealth(root); err != nil || len(h.Checks) != 0 {
		t.Errorf("no file: %+v %v", h, err)
	}
	os.MkdirAll(filepath.Join(root, "etc/cairn"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/cairn/health.json"), []byte(`{"checks":[{"name":"a","service":"sshd","timeoutSeconds":5}]}`), 0o644)
	if h, err := ReadHealth(root); err != nil || len(h.Checks) != 1 || h.Checks[0].Service != "sshd" {
		t.Errorf("%+v %v", h, err)
	}
	os.WriteFile(filepath.Join(root, "etc/cairn/health.json"), []byte(`{"checks":[{"nme":"a"}]}`), 0o644)
	if _, err := ReadHealth(root); err == nil || !strings.Contains(err.Error(), "health.json") {
		t.Errorf("bad file: %v", err)
	}
}
