package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

func generationsJSON(t *testing.T, s *store.Store, args ...string) node.GenerationList {
	t.Helper()
	code, out, errOut := runStore(t, s, append([]string{"generations", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("generations: exit %d\n%s", code, errOut)
	}
	var r node.GenerationList
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Sizes are shown when quotas make them cheap, or when asked for; never
// measured otherwise (without quotas that reads every file's extents).
func TestGenerationsSizes(t *testing.T) {
	t.Run("btrfs-quota", func(t *testing.T) {
		mnt := btrfstest.NewFS(t, btrfstest.Options{Size: 256 << 20})
		s, err := makeStore(mnt, store.InitOptions{Backend: store.BackendBtrfs, Quota: true}, 2)
		if err != nil {
			t.Fatal(err)
		}
		r := generationsJSON(t, s)
		for _, g := range r.Generations {
			if g.Size == nil || g.Size.Method != store.UsageQgroup || g.Size.Exclusive <= 0 {
				t.Errorf("generation %d: size %+v, want one from its quota group", g.Number, g.Size)
			}
		}
		code, out, _ := runStore(t, s, "generations")
		if code != 0 || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "EXCLUSIVE  SHARED") {
			t.Errorf("generations on btrfs with quotas: exit %d\n%s", code, out)
		}
	})
	t.Run("btrfs", func(t *testing.T) {
		mnt := btrfstest.NewFS(t, btrfstest.Options{Size: 256 << 20})
		s, err := makeStore(mnt, store.InitOptions{Backend: store.BackendBtrfs}, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range generationsJSON(t, s).Generations {
			if g.Size != nil {
				t.Errorf("generation %d measured without quotas or --size: %+v", g.Number, g.Size)
			}
		}
		for _, g := range generationsJSON(t, s, "--size").Generations {
			if g.Size == nil || g.Size.Method != store.UsageExtents {
				t.Errorf("generation %d with --size: %+v, want extents", g.Number, g.Size)
			}
		}
	})
	t.Run("plain", func(t *testing.T) {
		s := testStore(t, 2)
		for _, g := range generationsJSON(t, s).Generations {
			if g.Size != nil {
				t.Errorf("generation %d measured without --size: %+v", g.Number, g.Size)
			}
		}
		for _, g := range generationsJSON(t, s, "--size").Generations {
			if g.Size == nil || g.Size.Method != store.UsageLinks || g.Size.Exclusive <= 0 {
				t.Errorf("generation %d with --size: %+v", g.Number, g.Size)
			}
		}
	})
}

// The marks follow the state through a boot and a confirmation, and a
// generation whose metadata fsck recovered shows what is unknown.
func TestGenerationsMarks(t *testing.T) {
	s := testStore(t, 3)
	permanent(t, s, 1)
	setState(t, s, func(st store.State) (store.State, error) {
		st, err := st.Switch(2, 2)
		if err != nil {
			return st, err
		}
		st, _ = st.Boot() // 2 boots, one try left
		return st, nil
	})
	r := generationsJSON(t, s)
	want := map[int]string{1: "default", 2: "booted trial", 3: ""}
	for _, g := range r.Generations {
		if got := strings.Join(g.Marks, " "); got != want[g.Number] {
			t.Errorf("generation %d: marks %q, want %q", g.Number, got, want[g.Number])
		}
	}
	if g := r.Generations[1]; g.TriesLeft != 1 || !g.NextBoot || r.NextBoot != 2 {
		t.Errorf("trial: %+v, next boot %d", g, r.NextBoot)
	}
	setState(t, s, func(st store.State) (store.State, error) { return st.Confirm(2) })
	r = generationsJSON(t, s)
	if got := strings.Join(r.Generations[1].Marks, " "); got != "booted default last good" {
		t.Errorf("after confirming: marks %q", got)
	}

	if err := os.Remove(filepath.Join(s.Dir(), "@cairn", "meta", "3.json")); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runStore(t, s, "generations")
	if code != ExitFailure || errOut != "cairn: generation 3: metadata: open "+filepath.Join(s.Dir(), "@cairn", "meta", "3.json")+": no such file or directory (fsck repairs it)\n" {
		t.Errorf("generations with lost metadata: exit %d: %q", code, errOut)
	}
	if code, _, errOut := runStore(t, s, "fsck"); code != 0 {
		t.Fatalf("fsck: exit %d: %s", code, errOut)
	}
	code, out, _ := runStore(t, s, "generations")
	if code != 0 || !regexp.MustCompile(`\n3 +[0-9-]+ [0-9:]+ +\? +\? +- +metadata recovered by fsck\n`).MatchString(out) {
		t.Errorf("generations after recovery: exit %d\n%s", code, out)
	}
}

// A generation's description and kernel come from a manifest; one sealed
// before cairn refused control characters in them is printed with those
// escaped, so it can neither break the table nor drive the terminal.
func TestGenerationsPrintsTextSafely(t *testing.T) {
	s := testStore(t, 0)
	unlock, err := s.Lock(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeTree(st.Dir(), fixtureTree(1)); err != nil {
		t.Fatal(err)
	}
	meta := fixtureMeta(1)
	meta.Description = "evil\x1b[2J\nsecond line \u202eexe.txt"
	meta.Kernel = "linux\tvirt"
	if _, err := st.Seal(meta); err != nil {
		t.Fatal(err)
	}
	unlock()
	code, out, _ := runStore(t, s, "generations")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || !strings.HasSuffix(lines[1], `evil\x1b[2J\nsecond line \u202eexe.txt`) || !strings.Contains(lines[1], `linux\tvirt`) {
		t.Errorf("generations printed\n%s", out)
	}
	if strings.ContainsAny(out, "\x1b\u202e\t") {
		t.Errorf("control characters reached the terminal: %q", out)
	}
}
