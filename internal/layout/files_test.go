package layout

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The store's layout, as the tests make it by hand.
const (
	stateFile      = StatePath
	generationsDir = StoreDir + "/" + GenerationsDir
)

// fakeStore makes the store layout by hand: generation directories and a
// state.json.
func fakeStore(t *testing.T, gens []int, state string) string {
	t.Helper()
	top := t.TempDir()
	for _, n := range gens {
		if err := os.MkdirAll(filepath.Join(top, generationsDir, strconv.Itoa(n)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(top, generationsDir), 0o755)
	if state != "" {
		if err := os.WriteFile(filepath.Join(top, stateFile), []byte(state), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return top
}

func TestStateFile(t *testing.T) {
	top := fakeStore(t, []int{1, 2}, `{"default": 1, "trial": {"generation": 2, "triesLeft": 1}, "futureKey": {"x": [1, 2]}, "good": [1]}`)
	st, _, err := ReadState(top)
	if err != nil {
		t.Fatal(err)
	}
	if st.Default != 1 || st.Trial != (Trial{Generation: 2, TriesLeft: 1}) {
		t.Fatalf("read %+v", st)
	}
	st.Trial.TriesLeft = 0
	st.Booted = 2
	if err := WriteState(top, st); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(top, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	// A key this cairn-init does not know survives, the rest is
	// updated.
	if _, ok := raw["futureKey"]; !ok {
		t.Errorf("futureKey lost: %s", data)
	}
	if raw["booted"] != 2.0 || raw["trial"].(map[string]any)["triesLeft"] != 0.0 {
		t.Errorf("state written %s", data)
	}
	if _, err := os.Stat(filepath.Join(top, stateFile+".tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}

	// Without unknown keys the bytes are the store's own.
	top2 := fakeStore(t, []int{1}, `{}`)
	want := State{Default: 1, Good: []int{1}, Booted: 1, LastSealed: 1}
	if err := WriteState(top2, want); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(top2, stateFile))
	storeBytes, _ := json.MarshalIndent(want, "", "  ")
	if string(data) != string(storeBytes)+"\n" {
		t.Errorf("written:\n%s\nthe store writes:\n%s", data, storeBytes)
	}

	for _, bad := range []string{`{"default": 1,`, `[]`, `{"default": "one"}`, `{"trial": {"generation": 2, "triesLeft": -1}}`} {
		top := fakeStore(t, nil, bad)
		if _, _, err := ReadState(top); err == nil {
			t.Errorf("ReadState(%s) succeeded", bad)
		}
	}
	if _, _, err := ReadState(t.TempDir()); err == nil {
		t.Error("ReadState without state.json succeeded")
	}
}

func TestGenerations(t *testing.T) {
	top := fakeStore(t, []int{3, 1, 2}, "")
	for _, junk := range []string{"notes", "01", "-1", "0", "4.new"} {
		os.MkdirAll(filepath.Join(top, generationsDir, junk), 0o755)
	}
	os.WriteFile(filepath.Join(top, generationsDir, "7"), nil, 0o644) // a file, not a tree
	got, err := Generations(top)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("generations %v", got)
	}
	if err := IsStore(top); err != nil {
		t.Error(err)
	}
	if err := IsStore(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a cairn store") {
		t.Errorf("IsStore of an empty directory: %v", err)
	}
}

func TestEscapePath(t *testing.T) {
	cases := map[string]string{
		"/var":           "var",
		"/var/lib/nomad": "var-lib-nomad",
		"/srv/my-data":   `srv-my\x2ddata`,
		"/home/.cache":   "home-.cache",
		"/.hidden":       `\x2ehidden`,
		"/opt/a b/c.d":   `opt-a\x20b-c.d`,
		"/etc/ssh":       "etc-ssh",
		"/data/ünï":      `data-\xc3\xbcn\xc3\xaf`,
	}
	for in, want := range cases {
		if got := EscapePath(in); got != want {
			t.Errorf("EscapePath(%q) = %q, want %q", in, got, want)
		}
	}
	// The same as systemd's, where it is installed.
	if se, err := exec.LookPath("systemd-escape"); err == nil {
		for in, want := range cases {
			out, err := exec.Command(se, "--path", in).Output()
			if err == nil && strings.TrimSpace(string(out)) != want {
				t.Errorf("systemd-escape --path %s = %s, EscapePath %s", in, out, want)
			}
		}
	}
}

func TestParsePersist(t *testing.T) {
	paths, problems, err := ParsePersist(strings.NewReader(`# persistent directories
/var/log
/home   # users
/var

relative/path
/var/lib/../x
/proc/x
/run
/tmp/cache
/
/var/log
`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(paths, []string{"/home", "/var", "/var/log"}) {
		t.Errorf("paths %q", paths)
	}
	want := []string{"line 6: relative/path", "line 7: /var/lib/../x", "line 8: /proc/x", "line 9: /run", "line 10: /tmp/cache", "line 11: /:"}
	if len(problems) != len(want) {
		t.Fatalf("problems %q", problems)
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %q, want %q", problems[i], w)
		}
	}
}
