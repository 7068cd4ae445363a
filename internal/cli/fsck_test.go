package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// fsck exits non-zero when a repair fails (here: recovering a lost
// metadata file on a full file system), says what was not repaired, and
// succeeds once the repair can be made. Commands that write refuse to
// work on such a store.
func TestFsckRepairFails(t *testing.T) {
	dir := tmpfs(t, "2m")
	s, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storetest.Thaw(dir) })
	if err := os.Remove(filepath.Join(dir, "@cairn", "meta", "2.json")); err != nil {
		t.Fatal(err)
	}
	fill(t, dir)

	code, out, errOut := runStore(t, s, "fsck")
	if code != ExitFailure ||
		!strings.Contains(out, "NOT repaired @cairn/meta/2.json: metadata missing; the repair (recover it (number and creation time)) failed\n") ||
		!strings.HasPrefix(errOut, "cairn: store "+dir+" is not consistent: repair @cairn/meta/2.json: ") ||
		!strings.Contains(errOut, "no space left on device") {
		t.Errorf("fsck with a repair that fails: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = runStore(t, s, "fsck", "--json")
	var r node.FsckReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitFailure || r.Consistent || len(r.Problems) != 1 || r.Problems[0].Repaired {
		t.Errorf("fsck --json: exit %d, %+v (%v)", code, r, err)
	}
	code, _, errOut = runStore(t, s, "pin", "1")
	if code != ExitFailure || !strings.Contains(errOut, "the store needs repairs that failed: see cairn fsck") {
		t.Errorf("pin on a store that cannot be repaired: exit %d: %s", code, errOut)
	}

	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runStore(t, s, "fsck")
	if code != 0 || !strings.Contains(out, "repaired @cairn/meta/2.json: metadata missing") {
		t.Errorf("fsck with room: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runStore(t, s, "fsck"); code != 0 || !strings.HasSuffix(out, ": consistent, nothing to repair\n") {
		t.Errorf("fsck once more: exit %d: %s", code, out)
	}
}
