package e2etest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ImageSource is where a container image's packages come from: a
// repository and the keys that sign it.
type ImageSource struct {
	Repositories []string
	Keys         string
	Packages     []string
	// Extra is more of the image's manifest, YAML (files: ...).
	Extra string
}

var imageDigest = regexp.MustCompile(`(?m)^digest (sha256:[0-9a-f]{64})$`)

// OCIImage makes a container image with `cairn image --format oci` from a
// system of src's packages (no kernel), as the OCI archive out, and
// returns the digest of its manifest, which cairn prints.
func OCIImage(t testing.TB, cairn string, src ImageSource, out string) string {
	t.Helper()
	dir := t.TempDir()
	var repos []string
	for _, r := range src.Repositories {
		repos = append(repos, "{url: "+r+"}")
	}
	mf := filepath.Join(dir, "image.yaml")
	text := fmt.Sprintf("apiVersion: cairn/v1\nkind: System\nname: image\nalpine:\n  arch: x86_64\n  repositories: [%s]\n  keys: [%s]\npackages: [%s]\n",
		strings.Join(repos, ", "), src.Keys, strings.Join(src.Packages, ", ")) + src.Extra
	if err := os.WriteFile(mf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	printed := Run(t, cairn, "image", "-f", mf, "--format", "oci", "-o", out)
	m := imageDigest.FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("cairn image --format oci printed no digest:\n%s", printed)
	}
	return m[1]
}
