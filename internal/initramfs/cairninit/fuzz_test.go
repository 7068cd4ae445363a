package cairninit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/layout"
)

// FuzzCmdline: any command line parses, and what it chooses is usable.
func FuzzCmdline(f *testing.F) {
	f.Add(`root=LABEL="my disk" cairn.gen=12 init=/sbin/openrc-init rootflags=compress=zstd,subvol=x cairn.rootwait=2.5 quiet rd.break -- single`)
	f.Add("root=UUID=2df710a3-b706-4cee-8c09-217cbdbae791 cairn.gen=-1 cairn.rootwait=1e9")
	f.Fuzz(func(t *testing.T, line string) {
		c := ParseCmdline(line)
		if c.Gen < 0 || c.RootWait < 0 {
			t.Fatalf("parsed %+v", c)
		}
		ParseRoot(c.Root)
		topFlags(c.RootFlags)
	})
}

// FuzzProbe: superblock probing never panics on arbitrary devices.
func FuzzProbe(f *testing.F) {
	var uuid [16]byte
	f.Add(superblock("btrfs", uuid, "cairn"))
	f.Add(superblock("ext4", uuid, "x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := Probe(bytes.NewReader(data))
		if err == nil && fs.Type == "" {
			t.Fatal("a file system without a type")
		}
	})
}

// FuzzChoose: whatever state.json holds and whatever generations exist,
// the choice boots an existing generation, never writes a state whose
// trial gained tries, and offers each candidate once.
func FuzzChoose(f *testing.F) {
	f.Add(`{"default": 1, "trial": {"generation": 2, "triesLeft": 1}, "good": [1]}`, []byte{1, 2, 3}, 0)
	f.Add(`{"default": 9}`, []byte{1}, 1)
	f.Add(`{`, []byte{4, 2}, 0)
	f.Fuzz(func(t *testing.T, state string, gens []byte, explicit int) {
		top := t.TempDir()
		if err := writeFile(top, stateFile, state); err != nil {
			t.Fatal(err)
		}
		st, _, stErr := layout.ReadState(top)
		var present []int
		for _, g := range gens {
			if g > 0 {
				present = append(present, int(g))
			}
		}
		d := Choose(Inputs{State: st, StateErr: stErr, Present: present, Explicit: explicit})
		seen := map[int]bool{}
		for _, c := range d.Candidates {
			if seen[c] || !bytes.Contains(gens, []byte{byte(c)}) || c <= 0 || c > 255 {
				t.Fatalf("candidates %v from %v", d.Candidates, gens)
			}
			seen[c] = true
		}
		if len(d.Candidates) == 0 {
			return
		}
		next, write := d.StateFor(d.Candidates[0])
		if stErr != nil && write {
			t.Fatal("a corrupted state would be written")
		}
		if write && next.Trial.TriesLeft > st.Trial.TriesLeft {
			t.Fatalf("tries went up: %+v -> %+v", st.Trial, next.Trial)
		}
		if write && next.Default != st.Default {
			t.Fatalf("the default changed: %+v -> %+v", st, next)
		}
	})
}

func writeFile(top, rel, content string) error {
	p := filepath.Join(top, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}
