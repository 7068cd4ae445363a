package e2e

import (
	"fmt"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// bootTimeout bounds one boot under software emulation (firmware,
// extlinux, kernel, cairn-init, the test init), with room for a loaded
// machine.
const bootTimeout = 4 * time.Minute

// TestExtlinuxTrialBoots is issue 5's acceptance test: a real disk image
// with extlinux, booted by qemu's BIOS, Debian's cloud kernel packaged as
// linux-virt, and the real cairn commands between the boots.
//
//  1. generation 1 boots as a trial and is confirmed;
//  2. generation 2, switched to as a trial, boots and is confirmed,
//     becoming the default;
//  3. generation 3, whose init fails, is tried once, and the next boot is
//     generation 2 again with no command in between;
//  4. cairn rollback, then a boot gives generation 1;
//  5. the loader entry of generation 2 chosen explicitly boots 2 and
//     changes nothing.
//
// Each step is asserted from the console and from state.json.
func TestExtlinuxTrialBoots(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	debtest.Tool(t, "extlinux", "extlinux")
	debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	debtest.Tool(t, "mkfs.ext4", "e2fsprogs")
	qemu := vmtest.QEMU(t)

	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	d := newDisk(t)
	top := d.top

	build := func(marker string, broken bool) int {
		t.Helper()
		mf := r.Manifest(t, t.TempDir(), e2etest.System{Marker: marker, Broken: broken})
		out := e2etest.Run(t, cairn, "build", "-f", mf, "--store", top, "--json")
		var n int
		if _, err := fmt.Sscanf(out[strings.Index(out, `"generation":`):], `"generation": %d`, &n); err != nil {
			t.Fatalf("build output: %v\n%s", err, out)
		}
		return n
	}
	state := func() store.State { return e2etest.ReadState(t, top) }

	// boot detaches the disk, boots it and checks that generation want
	// came up (and, unless broken, was confirmed or not as confirmed
	// says), then attaches the disk again.
	boot := func(step string, want int, broken, confirmed bool) []string {
		t.Helper()
		d.detach()
		defer d.attach()
		v := vmtest.Start(t, vm.Config{QEMU: qemu, MemoryMiB: 512, Disks: []vm.Disk{{Path: d.image}}, NoReboot: true})
		sw, err := v.Expect(regexp.MustCompile(`cairn-init: switching root to generation \d+, \S+, ([0-9.]+) s after the kernel started`), bootTimeout)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		t.Logf("%s: cairn-init switched root %s s after the kernel started", step, sw[1])
		m, err := v.Expect(regexp.MustCompile(`E2E GENERATION (\d+) UP: (.*)`), bootTimeout)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if m[1] != fmt.Sprint(want) {
			t.Fatalf("%s: generation %s came up, want %d", step, m[1], want)
		}
		switch {
		case broken:
			if err := v.ExpectString("E2E BROKEN: init exits", time.Minute); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		case confirmed:
			if err := v.ExpectString(fmt.Sprintf("generation %d is confirmed", want), time.Minute); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			m, err := v.Expect(regexp.MustCompile(`E2E CONFIRM EXIT 0 AT ([0-9.]+)`), time.Minute)
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			t.Logf("%s: generation %d confirmed %s s after the kernel started", step, want, m[1])
		default:
			if err := v.ExpectString("nothing to confirm", time.Minute); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
		if err := v.Wait(time.Minute); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		t.Logf("%s: generation %d came up", step, want)
		return v.Lines()
	}

	d.attach()
	e2etest.Run(t, cairn, "init", top)
	g1 := build("first", false)
	e2etest.Run(t, cairn, "boot", "setup", "--store", top, "--boot-dir", d.boot, "--loader", "extlinux", "--root", "LABEL="+rootLabel, "--serial")
	e2etest.Run(t, cairn, "switch", "--store", top, fmt.Sprint(g1))

	// 1.
	boot("step 1", g1, false, true)
	if st := state(); st.Default != g1 || st.LastGood != g1 || st.Trial.Generation != 0 || st.Booted != g1 {
		t.Fatalf("step 1: state %+v", st)
	}

	// 2.
	g2 := build("second", false)
	e2etest.Run(t, cairn, "switch", "--store", top, fmt.Sprint(g2))
	if st := state(); st.Trial.Generation != g2 || st.Trial.TriesLeft != 1 || st.Default != g1 {
		t.Fatalf("step 2, after switch: state %+v", st)
	}
	boot("step 2", g2, false, true)
	if st := state(); st.Default != g2 || st.LastGood != g2 || st.Trial.Generation != 0 {
		t.Fatalf("step 2: state %+v", st)
	}

	// 3.
	g3 := build("third", true)
	e2etest.Run(t, cairn, "switch", "--store", top, fmt.Sprint(g3))
	boot("step 3, the trial", g3, true, false)
	if st := state(); st.Trial.Generation != g3 || st.Trial.TriesLeft != 0 || st.Default != g2 || st.Booted != g3 {
		t.Fatalf("step 3, after the failed trial: state %+v", st)
	}
	boot("step 3, the next boot", g2, false, true)
	if st := state(); st.Default != g2 || st.Trial.Generation != 0 || st.Booted != g2 {
		t.Fatalf("step 3, after falling back: state %+v", st)
	}
	out := e2etest.Run(t, cairn, "status", "--store", top)
	t.Logf("cairn status:\n%s", out)

	// 4.
	out = e2etest.Run(t, cairn, "rollback", "--store", top)
	if !strings.Contains(out, fmt.Sprintf("generation %d boots next", g1)) {
		t.Fatalf("step 4: rollback says %q", out)
	}
	boot("step 4", g1, false, true)
	if st := state(); st.Default != g1 || st.Booted != g1 {
		t.Fatalf("step 4: state %+v", st)
	}

	// 5. extlinux boots the entry of generation 2 once, as if chosen
	// from its menu.
	before := state()
	e2etest.RunNoSync(t, "extlinux", "--once=cairn-"+fmt.Sprint(g2), d.boot+"/extlinux")
	boot("step 5", g2, false, false)
	after := state()
	if after.Default != before.Default || after.Trial != before.Trial || after.Booted != g2 {
		t.Fatalf("step 5: state %+v, before %+v", after, before)
	}
	out = e2etest.Run(t, cairn, "generations", "--store", top)
	t.Logf("cairn generations:\n%s", out)
}
