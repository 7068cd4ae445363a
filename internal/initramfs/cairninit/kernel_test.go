package cairninit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKernelMismatch(t *testing.T) {
	withModules := func(releases ...string) string {
		root := t.TempDir()
		for _, r := range releases {
			if err := os.MkdirAll(filepath.Join(root, "lib", "modules", r), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	for _, tc := range []struct {
		name, root, release string
		want                string
	}{
		{"its own kernel", withModules("6.6.1-0-virt"), "6.6.1-0-virt", ""},
		{"one of its kernels", withModules("6.1.0-lts", "6.6.1-0-virt"), "6.6.1-0-virt", ""},
		{"no modules at all (a kernel with everything built in)", withModules(), "6.6.1-0-virt", ""},
		{"release unknown", withModules("6.1.0-lts"), "", ""},
		{"another generation's kernel", withModules("6.1.0-lts"), "6.6.1-0-virt", "generation 3 has no modules for the running kernel 6.6.1-0-virt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := KernelMismatch(tc.root, tc.release, 3)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if got != "" && !strings.Contains(got, "cairn-3 boots it with its own kernel") {
				t.Errorf("no way out in %q", got)
			}
		})
	}
}
