package cairninit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// fakeMachine records what Run asks of it, in order, and keeps the store
// in a temporary directory. SwitchRoot succeeds by panicking with
// switched, which runFake recovers: a real one never returns.
type fakeMachine struct {
	t       *testing.T
	top     string
	cmdline string
	calls   []string

	findFails   int          // FindRoot fails this many times
	broken      map[int]bool // Prepare fails for these generations
	switchFails map[int]bool // SwitchRoot fails for these
	shells      []func() error
	prepared    int

	// A RAM system: ram says the initramfs holds one; PrepareRAM and
	// MountPersist fail this many times.
	ram          bool
	ramFails     int
	persistFails int
	ramPrepared  bool
	// grown is what GrowStore reports; growFails makes it fail.
	grown     string
	growFails bool
	// stateAtPrepare is state.json's content when Prepare ran.
	stateAtPrepare map[int]string
}

type switched struct {
	gen  int
	init string
	args []string
}

func (f *fakeMachine) call(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeMachine) MountKernelFS() error           { f.call("mount kernel fs"); return nil }
func (f *fakeMachine) Cmdline() (string, error)       { return f.cmdline, nil }
func (f *fakeMachine) Uptime() (time.Duration, error) { return 1500 * time.Millisecond, nil }
func (f *fakeMachine) LoadModules(*Log) error         { f.call("load modules"); return nil }

func (f *fakeMachine) FindRoot(root RootSpec, wait time.Duration, _ *Log) ([]Device, error) {
	f.call("find %s within %s", root, wait)
	if f.findFails > 0 {
		f.findFails--
		return nil, errors.New("not found")
	}
	if root.Label != "" && root.Label != "cairn" {
		// A RAM system's persistence device.
		return []Device{{Path: "/dev/vdb", FS: FS{Type: "ext4", Label: root.Label}}}, nil
	}
	return []Device{{Path: "/dev/vda", FS: FS{Type: "btrfs", Label: "cairn"}}}, nil
}

func (f *fakeMachine) RAMImage() bool { return f.ram }

func (f *fakeMachine) GrowStore(dev, top string) (string, error) {
	f.call("grow %s", dev)
	if f.growFails {
		return "", errors.New("no GPT")
	}
	return f.grown, nil
}

func (f *fakeMachine) PrepareRAM(flags, init string, _ *Log) (string, error) {
	f.call("prepare ram %q", flags)
	if f.ramFails > 0 {
		f.ramFails--
		return "", errors.New("no space left on device")
	}
	f.ramPrepared = true
	if init == "" {
		init = "/sbin/init"
	}
	return init, nil
}

func (f *fakeMachine) MountPersist(devs []Device, fstype string, _ *Log) error {
	f.call("persist %s %s", devs[0].Path, fstype)
	if f.persistFails > 0 {
		f.persistFails--
		return errors.New("wrong fs type")
	}
	return nil
}

func (f *fakeMachine) MountStore(devs []Device, fstype, flags string) (string, error) {
	f.call("mount %s %s %q", devs[0].Path, fstype, flags)
	return f.top, nil
}

func (f *fakeMachine) Prepare(top string, n int, init string, _ *Log) (string, error) {
	f.call("prepare %d", n)
	data, _ := os.ReadFile(filepath.Join(top, stateFile))
	if f.stateAtPrepare == nil {
		f.stateAtPrepare = map[int]string{}
	}
	f.stateAtPrepare[n] = string(data)
	if f.broken[n] {
		return "", errors.New("no init")
	}
	f.prepared = n
	if init == "" {
		init = "/sbin/init"
	}
	return init, nil
}

func (f *fakeMachine) Undo() error { f.call("undo"); return nil }

func (f *fakeMachine) SwitchRoot(init string, args []string) error {
	if f.ramPrepared {
		f.call("switch ram %s %q", init, args)
		panic(switched{init: init, args: args})
	}
	f.call("switch %d %s %q", f.prepared, init, args)
	if f.switchFails[f.prepared] {
		return errors.New("exec format error")
	}
	panic(switched{gen: f.prepared, init: init, args: args})
}

func (f *fakeMachine) Shell() error {
	f.call("shell")
	if len(f.shells) == 0 {
		return ErrNoShell
	}
	sh := f.shells[0]
	f.shells = f.shells[1:]
	return sh()
}

func (f *fakeMachine) Halt() { f.call("halt") }

// runFake runs cairn-init on the fake and returns the generation it
// switched to (0 when none), the console and the error Run returned.
func runFake(t *testing.T, f *fakeMachine) (sw switched, console string, err error) {
	t.Helper()
	var out bytes.Buffer
	func() {
		defer func() {
			if r := recover(); r != nil {
				s, ok := r.(switched)
				if !ok {
					panic(r)
				}
				sw = s
			}
		}()
		err = Run(f, &out, []string{"single"})
	}()
	return sw, out.String(), err
}

func readState(t *testing.T, top string) store.State {
	t.Helper()
	st, _, err := layout.ReadState(top)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantCalls(t *testing.T, f *fakeMachine, want ...string) {
	t.Helper()
	if got := strings.Join(f.calls, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

const root = "root=LABEL=cairn"

func TestRunDefault(t *testing.T) {
	top := fakeStore(t, []int{1, 2}, `{"default": 1, "good": [1], "booted": 1}`)
	before, _ := os.ReadFile(filepath.Join(top, stateFile))
	f := &fakeMachine{t: t, top: top, cmdline: root + " rootflags=compress=zstd,subvol=x cairn.rootwait=5"}
	sw, console, _ := runFake(t, f)
	if sw.gen != 1 || sw.init != "/sbin/init" || len(sw.args) != 1 || sw.args[0] != "single" {
		t.Errorf("switched to %+v", sw)
	}
	wantCalls(t, f, "mount kernel fs", "load modules", "find LABEL=cairn within 5s",
		`mount /dev/vda btrfs "compress=zstd"`, "grow /dev/vda", "prepare 1", `switch 1 /sbin/init ["single"]`)
	after, _ := os.ReadFile(filepath.Join(top, stateFile))
	if !bytes.Equal(before, after) {
		t.Errorf("state.json rewritten for a plain default boot: %s", after)
	}
	for _, line := range []string{
		"cairn-init: started 1.50 s after the kernel",
		"cairn-init: rootflags: ignoring [subvol=x]",
		"cairn-init: choosing generation 1, the default",
		"cairn-init: switching root to generation 1, /sbin/init, 1.50 s after the kernel started",
	} {
		if !strings.Contains(console, line+"\n") && !strings.Contains(console, line) {
			t.Errorf("console lacks %q:\n%s", line, console)
		}
	}
}

func TestRunTrialCountedBeforeBoot(t *testing.T) {
	top := fakeStore(t, []int{1, 2}, `{"default": 1, "trial": {"generation": 2, "triesLeft": 2}, "good": [1], "booted": 1}`)
	f := &fakeMachine{t: t, top: top, cmdline: root + " init=/sbin/openrc-init"}
	sw, _, _ := runFake(t, f)
	if sw.gen != 2 || sw.init != "/sbin/openrc-init" {
		t.Fatalf("switched to %+v", sw)
	}
	// The try was on disk before the generation was even mounted.
	var at store.State
	if err := jsonUnmarshal(f.stateAtPrepare[2], &at); err != nil {
		t.Fatal(err)
	}
	if at.Trial.TriesLeft != 1 || at.Booted != 2 {
		t.Errorf("state when preparing the trial: %s", f.stateAtPrepare[2])
	}
}

func TestRunFallbacks(t *testing.T) {
	t.Run("trial cannot be prepared", func(t *testing.T) {
		top := fakeStore(t, []int{1, 2}, `{"default": 1, "trial": {"generation": 2, "triesLeft": 1}, "good": [1]}`)
		f := &fakeMachine{t: t, top: top, cmdline: root, broken: map[int]bool{2: true}}
		sw, console, _ := runFake(t, f)
		if sw.gen != 1 {
			t.Fatalf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", "find LABEL=cairn within 30s", `mount /dev/vda btrfs ""`, "grow /dev/vda",
			"prepare 2", "undo", "prepare 1", `switch 1 /sbin/init ["single"]`)
		st := readState(t, top)
		if st.Trial != (store.Trial{Generation: 2}) || st.Booted != 1 || st.Default != 1 {
			t.Errorf("state %+v", st)
		}
		if !strings.Contains(console, "cairn-init: generation 2: no init\n") || !strings.Contains(console, "cairn-init: falling back to generation 1\n") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("switch fails", func(t *testing.T) {
		top := fakeStore(t, []int{1, 2}, `{"default": 2, "lastGood": 1, "good": [1, 2], "booted": 2}`)
		f := &fakeMachine{t: t, top: top, cmdline: root, switchFails: map[int]bool{2: true}}
		sw, console, _ := runFake(t, f)
		if sw.gen != 1 {
			t.Fatalf("switched to %+v", sw)
		}
		if !strings.Contains(console, "switch root to generation 2: exec format error") {
			t.Errorf("console:\n%s", console)
		}
		if st := readState(t, top); st.Booted != 1 || st.Default != 2 {
			t.Errorf("state %+v", st)
		}
	})
	t.Run("trial's try cannot be counted", func(t *testing.T) {
		top := fakeStore(t, []int{1, 2}, `{"default": 1, "trial": {"generation": 2, "triesLeft": 1}}`)
		// The temporary file cannot be created: the state cannot be
		// written.
		if err := os.Mkdir(filepath.Join(top, stateFile+".tmp"), 0o755); err != nil {
			t.Fatal(err)
		}
		f := &fakeMachine{t: t, top: top, cmdline: root}
		sw, console, _ := runFake(t, f)
		if sw.gen != 1 {
			t.Fatalf("booted %+v: a trial whose try was not counted", sw)
		}
		if !strings.Contains(console, "not booting trial generation 2: its try could not be counted") {
			t.Errorf("console:\n%s", console)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", "find LABEL=cairn within 30s", `mount /dev/vda btrfs ""`, "grow /dev/vda",
			"prepare 1", `switch 1 /sbin/init ["single"]`)
	})
	t.Run("corrupted state", func(t *testing.T) {
		top := fakeStore(t, []int{1, 2, 3}, `{"default": 1, "tr`)
		f := &fakeMachine{t: t, top: top, cmdline: root}
		sw, console, _ := runFake(t, f)
		if sw.gen != 3 {
			t.Fatalf("switched to %+v", sw)
		}
		if data, _ := os.ReadFile(filepath.Join(top, stateFile)); string(data) != `{"default": 1, "tr` {
			t.Errorf("corrupted state rewritten: %s", data)
		}
		if !strings.Contains(console, "state.json unusable") || !strings.Contains(console, "choosing generation 3, the newest") {
			t.Errorf("console:\n%s", console)
		}
	})
}

func TestRunRescue(t *testing.T) {
	t.Run("nothing to boot, no shell", func(t *testing.T) {
		top := fakeStore(t, nil, `{}`)
		f := &fakeMachine{t: t, top: top, cmdline: root}
		sw, console, err := runFake(t, f)
		if sw.gen != 0 || err == nil {
			t.Fatalf("switched to %+v, err %v", sw, err)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", "find LABEL=cairn within 30s", `mount /dev/vda btrfs ""`, "grow /dev/vda", "shell", "halt")
		for _, line := range []string{"nothing can boot: the store has no generation", "starting a rescue shell", "the initramfs has no shell (/bin/sh); halting"} {
			if !strings.Contains(console, line) {
				t.Errorf("console lacks %q:\n%s", line, console)
			}
		}
	})
	t.Run("no root device, the shell fixes it", func(t *testing.T) {
		top := fakeStore(t, []int{1}, `{"default": 1}`)
		f := &fakeMachine{t: t, top: top, cmdline: root, findFails: 1, shells: []func() error{func() error { return nil }}}
		sw, console, _ := runFake(t, f)
		if sw.gen != 1 {
			t.Fatalf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", "find LABEL=cairn within 30s", "shell",
			"find LABEL=cairn within 30s", `mount /dev/vda btrfs ""`, "grow /dev/vda", "prepare 1", `switch 1 /sbin/init ["single"]`)
		if !strings.Contains(console, "cairn-init: root device LABEL=cairn: not found") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("no root= at all", func(t *testing.T) {
		f := &fakeMachine{t: t, top: t.TempDir(), cmdline: "console=ttyS0"}
		_, console, err := runFake(t, f)
		if err == nil || !strings.Contains(console, "no root= on the kernel command line") {
			t.Errorf("err %v, console:\n%s", err, console)
		}
	})
	t.Run("cairn.break, then boot goes on", func(t *testing.T) {
		top := fakeStore(t, []int{1, 2}, `{"default": 1}`)
		f := &fakeMachine{t: t, top: top, cmdline: root + " rd.break"}
		// In the shell, the operator makes 2 the default by hand.
		f.shells = []func() error{func() error {
			return layout.WriteState(top, store.State{Default: 2})
		}}
		sw, console, _ := runFake(t, f)
		if sw.gen != 2 {
			t.Fatalf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", "find LABEL=cairn within 30s", `mount /dev/vda btrfs ""`, "grow /dev/vda",
			"shell", "prepare 2", `switch 2 /sbin/init ["single"]`)
		if !strings.Contains(console, "cairn.break: starting a shell") {
			t.Errorf("console:\n%s", console)
		}
	})
}

func TestRunQuiet(t *testing.T) {
	top := fakeStore(t, []int{1}, `{"default": 1, "booted": 1}`)
	f := &fakeMachine{t: t, top: top, cmdline: root + " quiet cairn.gen=x"}
	sw, console, _ := runFake(t, f)
	if sw.gen != 1 {
		t.Fatalf("switched to %+v", sw)
	}
	if console != "cairn-init: kernel command line: cairn.gen=x: not a generation number (ignored)\n" {
		t.Errorf("quiet console:\n%s", console)
	}
}

func TestRunExplicit(t *testing.T) {
	top := fakeStore(t, []int{1, 2, 3}, `{"default": 2, "trial": {"generation": 3, "triesLeft": 1}, "good": [1, 2], "booted": 2}`)
	f := &fakeMachine{t: t, top: top, cmdline: root + " cairn.gen=1"}
	sw, _, _ := runFake(t, f)
	if sw.gen != 1 {
		t.Fatalf("switched to %+v", sw)
	}
	st := readState(t, top)
	if st.Default != 2 || st.Trial != (store.Trial{Generation: 3, TriesLeft: 1}) || st.Booted != 1 {
		t.Errorf("state %+v", st)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestRunGrow: what growing the store did is said on the console; a
// failure is said too, and the boot goes on.
func TestRunGrow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     fakeMachine
		wants string
	}{
		{"grown", fakeMachine{grown: "grew /dev/vda2 from 100 MiB to 1124 MiB and its file system from 100 MiB to 1124 MiB"}, "cairn-init: grew /dev/vda2 from 100 MiB"},
		{"fails", fakeMachine{growFails: true}, "cairn-init: grow the store on /dev/vda: no GPT (booting on at its present size)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &tc.f
			f.t, f.top, f.cmdline = t, fakeStore(t, []int{1}, `{"default": 1, "good": [1]}`), root
			sw, console, _ := runFake(t, f)
			if sw.gen != 1 {
				t.Errorf("switched to %+v", sw)
			}
			if !strings.Contains(console, tc.wants) {
				t.Errorf("console:\n%s\nwant %q", console, tc.wants)
			}
		})
	}
}
