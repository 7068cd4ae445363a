package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/ramboot"
)

// TestRAMCommands runs cairn ram install, try, status and rollback on a
// fake boot medium, the booted command line given with --cmdline.
func TestRAMCommands(t *testing.T) {
	media := t.TempDir()
	os.Mkdir(filepath.Join(media, "extlinux"), 0o755)
	adv := ramboot.EmptyADV()
	os.WriteFile(filepath.Join(media, "extlinux/ldlinux.sys"), append(make([]byte, 2048), adv[:]...), 0o444)
	image := func(marker string) string {
		dir := filepath.Join(t.TempDir(), marker)
		os.Mkdir(dir, 0o700)
		for n, c := range map[string]string{"vmlinuz": "k", "initramfs.gz": marker, "cmdline": "console=ttyS0\n"} {
			os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600)
		}
		return dir
	}
	code, out, errOut := run(t, "ram", "install", "--media", media, image("a"))
	if code != 0 || !strings.Contains(out, "is the regular image") {
		t.Fatalf("install: %d %q %q", code, out, errOut)
	}
	a := strings.Fields(out)[1]
	code, out, errOut = run(t, "ram", "try", "--media", media, image("b"))
	if code != 0 || !strings.Contains(out, "boots once at the next boot, as a trial; not confirmed, the boot after it is the regular image "+a) {
		t.Fatalf("try: %d %q %q", code, out, errOut)
	}
	b := strings.Fields(out)[1]
	cmdline := filepath.Join(t.TempDir(), "cmdline")
	os.WriteFile(cmdline, []byte("console=ttyS0 cairn.ram.image="+a+" cairn.ram.entry=regular\n"), 0o644)
	code, out, _ = run(t, "ram", "status", "--media", media, "--cmdline", cmdline)
	want := "running:    image " + a + " (entry regular)\nregular:    " + a + "\nold:        none\ntrial:      " + b + "\nnext boot:  " + b + "\nlast trial: none\n"
	if code != 0 || out != want {
		t.Errorf("status: %d\n%s\nwant\n%s", code, out, want)
	}
	code, _, errOut = run(t, "ram", "rollback", "--media", media)
	if !strings.Contains(errOut, "no old image") {
		t.Errorf("rollback without an old image: %q", errOut)
	}
	if code == 0 {
		t.Errorf("rollback without an old image: exit %d", code)
	}
	if code, _, _ := run(t, "ram", "status", "--media", t.TempDir()); code == 0 {
		t.Error("status of an empty medium succeeded")
	}
}
