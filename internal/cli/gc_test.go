package cli

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// Retention rules that do not parse: a usage error (exit 2) naming the
// rule and listing the accepted forms; nothing deleted, state unchanged.
func TestGCBadRules(t *testing.T) {
	s := testStore(t, 4)
	permanent(t, s, 2)
	before := stateBytes(t, s)
	for _, tc := range []struct{ keep, msg string }{
		{"5 7x", `--keep "5 7x": retention rule "7x": unknown unit "x"`},
		{"0", `--keep "0": retention rule "0": a count of 0 keeps nothing; leave the rule out`},
		{"*", `retention rule "*": "*" needs a unit (h, d, w, m or y)`},
		{"3d 4d", `retention rule "4d": daily rule given twice`},
		{"-2", `retention rule "-2": "-2" is not a count`},
		{" , ", `--keep " , ": no retention rules (for example: '5 48h 7d 4w 12m')`},
	} {
		code, out, errOut := runStore(t, s, "gc", "--keep", tc.keep)
		if code != ExitUsage || out != "" || !strings.HasPrefix(errOut, "cairn: --keep ") || !strings.Contains(strings.SplitN(errOut, "\n", 2)[0], tc.msg) ||
			!strings.Contains(errOut, "\n  Nw    ... of each of the last N weeks") {
			t.Errorf("gc --keep %q: exit %d, stdout %q, stderr %q; want exit 2 and %q with the accepted forms", tc.keep, code, out, errOut, tc.msg)
		}
	}
	if code, _, errOut := runStore(t, s, "gc"); code != ExitUsage || !strings.HasPrefix(errOut, "cairn: gc needs --keep RULES\n") {
		t.Errorf("gc without rules: exit %d: %s", code, errOut)
	}
	if got := stateBytes(t, s); !bytes.Equal(got, before) {
		t.Errorf("the state changed:\n%s\nwas\n%s", got, before)
	}
	if nums := storetest.Numbers(t, s); !slices.Equal(nums, []int{1, 2, 3, 4}) {
		t.Errorf("generations %v after bad rules, want 1-4", nums)
	}
}

// gc never deletes what is protected, whatever the rules say: booted,
// default, trial, last good, pinned.
func TestGCKeepsProtected(t *testing.T) {
	s := testStore(t, 7)
	permanent(t, s, 1, 2)
	// 2 boots and is confirmed (booted, last good); 3 is pinned; 4 is
	// the trial.
	setState(t, s, func(st store.State) (store.State, error) {
		st, _ = st.Boot()
		st, err := st.Confirm(2)
		if err != nil {
			return st, err
		}
		st = st.Pin(3)
		return st.Switch(4, 1)
	})
	code, out, errOut := runStore(t, s, "gc", "--keep", "1", "--json")
	if code != 0 {
		t.Fatalf("gc: exit %d\n%s%s", code, out, errOut)
	}
	var r node.GCReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	why := map[int]string{}
	for _, k := range r.Keep {
		why[k.Number] = k.Why
	}
	want := map[int]string{2: "booted, default, last good", 3: "pinned", 4: "trial", 7: "newest 1"}
	if len(why) != len(want) {
		t.Errorf("kept %v, want %v", why, want)
	}
	for n, w := range want {
		if why[n] != w {
			t.Errorf("generation %d kept for %q, want %q", n, why[n], w)
		}
	}
	var dropped []int
	for _, d := range r.Drop {
		dropped = append(dropped, d.Number)
	}
	if !slices.Equal(dropped, []int{1, 5, 6}) {
		t.Errorf("dropped %v, want [1 5 6]", dropped)
	}
	checkIntact(t, s, []int{2, 3, 4, 7})
	if nums := storetest.Numbers(t, s); !slices.Equal(nums, []int{2, 3, 4, 7}) {
		t.Errorf("generations %v, want [2 3 4 7]", nums)
	}
}
