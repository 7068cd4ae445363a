package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

// Without arguments, diff compares the booted generation (not the
// default) with the newest; --json names both sides and has every
// section, empty or not.
func TestDiffFromBooted(t *testing.T) {
	s := testStore(t, 4)
	permanent(t, s, 1)
	setState(t, s, func(st store.State) (store.State, error) {
		st, err := st.Switch(2, 1)
		if err != nil {
			return st, err
		}
		st, _ = st.Boot() // 2 booted; its trial is used up, 1 boots next
		return st, nil
	})
	code, out, errOut := runStore(t, s, "diff")
	if code != 0 || !strings.HasPrefix(out, "from generation 2 to generation 4:\n") {
		t.Fatalf("diff: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runStore(t, s, "diff", "--json")
	if code != 0 {
		t.Fatalf("diff --json: exit %d: %s", code, errOut)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"from", "to", "packages", "services", "users", "groups", "mounts", "files", "cmdline"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("diff --json lacks %q:\n%s", key, out)
		}
	}
	var r struct {
		From, To node.DiffSide
		Packages []struct{ Name, Change, Old, New string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.From.Generation != 2 || r.To.Generation != 4 || len(r.Packages) != 1 || r.Packages[0].Change != "upgraded" || r.Packages[0].New != "1.0-r4" {
		t.Errorf("diff --json: %+v", r)
	}
}
