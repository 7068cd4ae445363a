package cli

import (
	"bytes"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func TestSchemaCommand(t *testing.T) {
	code, out, errOut := run(t, "schema")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !bytes.Equal([]byte(out), manifest.Schema()) {
		t.Error("cairn schema does not print manifest.Schema()")
	}
	if code, _, _ := run(t, "schema", "extra"); code != ExitUsage {
		t.Errorf("schema with an argument: exit %d", code)
	}
}
