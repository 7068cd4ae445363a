package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

// cairn man writes a page for every command, generated from the command:
// each page has the usual sections and every flag of the command, and
// groff reads every page without a warning.
func TestManPages(t *testing.T) {
	groff := debtest.Tool(t, "groff", "groff-base")
	dir := t.TempDir()
	if code, out, errOut := run(t, "man", "--dir", dir); code != 0 || !strings.HasPrefix(out, "wrote ") {
		t.Fatalf("man --dir: exit %d\n%s%s", code, out, errOut)
	}
	root := newRootCommand(&Globals{})
	for _, c := range manCommands(root) {
		name := manName(c) + ".1"
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: no page: %v", c.CommandPath(), err)
			continue
		}
		page := string(data)
		for _, section := range []string{".TH " + strings.ToUpper(manName(c)) + " 1", ".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH EXIT STATUS\n"} {
			if !strings.Contains(page, section) {
				t.Errorf("%s lacks %q", name, section)
			}
		}
		check := func(f *pflag.Flag) {
			if !f.Hidden && !strings.Contains(page, "\\-\\-"+roffEscape(f.Name)) {
				t.Errorf("%s does not list --%s", name, f.Name)
			}
		}
		c.NonInheritedFlags().VisitAll(check)
		c.InheritedFlags().VisitAll(check)
		for _, sub := range manSubcommands(c) {
			if !strings.Contains(page, ".BR "+roffEscape(manName(sub))+" (1)") {
				t.Errorf("%s does not refer to %s", name, manName(sub))
			}
		}
		out, err := exec.Command(groff, "-man", "-ww", "-z", filepath.Join(dir, name)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff on %s: %v\n%s", name, err, out)
		}
	}
	// One page on standard output is the same page.
	code, out, _ := run(t, "man", "apk", "add")
	if want, _ := os.ReadFile(filepath.Join(dir, "cairn-apk-add.1")); code != 0 || out != string(want) {
		t.Errorf("man apk add: exit %d, not the page --dir wrote", code)
	}
	if code, _, errOut := run(t, "man", "biuld"); code != ExitUsage || !strings.Contains(errOut, `no command "biuld"`) {
		t.Errorf("man biuld: exit %d, %q", code, errOut)
	}
}
