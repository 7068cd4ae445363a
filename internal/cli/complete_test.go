package cli

import (
	"strings"
	"testing"
)

// Shell completion completes values: the fixed sets, manifests, and the
// generations of the store named on the command line, newest first, each
// with what it is.
func TestCompletion(t *testing.T) {
	s := testStore(t, 3)
	permanent(t, s, 2)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "--format", ""}, "initramfs\ndisk\ntar\noci\n:4\n"},
		{[]string{"image", "--compression", ""}, "gzip\nzstd\nnone\n:4\n"},
		{[]string{"boot", "setup", "--loader", ""}, "extlinux\ngrub\nsystemd-boot\n:4\n"},
		{[]string{"boot", "setup", "--initramfs", ""}, "cairn\nmkinitfs\n:4\n"},
		{[]string{"init", "--backend", ""}, "btrfs\nplain\n:4\n"},
		{[]string{"build", "-f", ""}, "yaml\nyml\n:8\n"},
		{[]string{"switch", "--store", s.Dir(), ""}, "3\t"},
		{[]string{"diff", "--store", s.Dir(), "1", ""}, "3\t"},
		{[]string{"diff", "--store", s.Dir(), "1", "2", ""}, ":4\n"},
		{[]string{"image", "--store", s.Dir(), "--generation", ""}, "3\t"},
	} {
		code, out, _ := run(t, append([]string{"__complete"}, tc.args...)...)
		if code != 0 || !strings.HasPrefix(out, tc.want) {
			t.Errorf("complete %q: exit %d\n%s\nwant\n%s", tc.args, code, out, tc.want)
		}
	}
	// Newest first, each with its date, marks and description.
	_, out, _ := run(t, "__complete", "switch", "--store", s.Dir(), "")
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "3\t") || !strings.HasSuffix(lines[1], " (default) test system 2") || !strings.HasPrefix(lines[2], "1\t") || lines[3] != ":4" {
		t.Errorf("generations completed as\n%s", out)
	}
}
