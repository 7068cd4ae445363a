package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/e2e/powercut"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// cutLoop is the workload of the power-cut test, run on the node as root:
// build a generation from the repository disk, then switch to the newest,
// roll back, pin and unpin, and collect garbage, over and over, each
// step's exit status on the console.
const cutLoop = `#!/bin/sh
mount -o ro /dev/vdb /mnt 2>/dev/null
round=0
# step NAME COMMAND...: runs a command; when it fails, its last lines go
# to the console too, so a long run's log says why.
step() {
	name=$1
	shift
	"$@" >/tmp/step.log 2>&1
	rc=$?
	[ $rc = 0 ] || sed "s/^/CUTLOOP failed $name: /" /tmp/step.log | tail -n 5
	echo "CUTLOOP $round $name $rc"
}
pinunpin() { cairn pin 1 && cairn unpin 1; }
while :; do
	round=$((round + 1))
	step build cairn build -f /mnt/m$((round % 2))/system.yaml --no-lock
	for i in 1 2 3 4 5 6; do
		step switch cairn switch
		step rollback cairn rollback
		step pin pinunpin
		step gc cairn gc --keep 2
	done
done
`

// powerCuts is how many times TestPowerCuts pulls the plug: a few in CI,
// CAIRN_POWERCUTS=N for a long run (docs/benchmarks.md has the figures of
// one).
func powerCuts(t *testing.T) int {
	if s := os.Getenv("CAIRN_POWERCUTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CAIRN_POWERCUTS=%q: give a number of cuts", s)
		}
		return n
	}
	return 2
}

// TestPowerCuts is issue 12's power-cut loop: the real Alpine system
// builds, switches, rolls back and collects garbage on its btrfs store in
// a loop, and the host pulls the plug at a random moment: the disk is
// powercut's NBD disk, so what the guest did not flush is lost (a random
// half of it kept, in any order, as a disk may), and qemu is killed.
// After every cut the next boot must come up, its generation confirmed,
// with no OpenRC failure, and cairn fsck must find the store consistent.
func TestPowerCuts(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(t)
	mkfs := debtest.Tool(t, "mkfs.ext4", "e2fsprogs")
	cuts := powerCuts(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CAIRN_POWERCUT_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("%d cuts, seed %d (CAIRN_POWERCUT_SEED repeats the moments)", cuts, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	work := t.TempDir()
	sys := func(desc string) e2etest.AlpineSystem {
		return e2etest.AlpineSystem{Description: desc, Motd: desc, Key: pub,
			Files: []e2etest.File{{Path: "/usr/local/bin/cutloop", Mode: "0755", Content: cutLoop}}}
	}
	img := filepath.Join(work, "disk.img")
	e2etest.Run(t, cairn, "image", "-f", r.Manifest(t, work, sys("power cuts")), "--format", "disk", "--firmware", "bios", "--size", "2G", "-o", img)

	// The repository disk: the ISO's packages, the kernel, two manifests
	// naming them where the node mounts the disk (/mnt).
	repoDir := filepath.Join(work, "repodisk")
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	e2etest.Run(t, "cp", "-a", r.ISO, filepath.Join(repoDir, "iso"))
	e2etest.Run(t, "cp", "-a", r.Local.Dir, filepath.Join(repoDir, "repo"))
	e2etest.Run(t, "cp", "-a", r.Local.Keys, filepath.Join(repoDir, "keys"))
	onNode := e2etest.AlpineRepo{ISO: "/mnt/iso", Local: e2etest.Repo{Dir: "/mnt/repo", Keys: "/mnt/keys"}}
	for i := range 2 {
		dir := filepath.Join(repoDir, fmt.Sprintf("m%d", i))
		os.MkdirAll(dir, 0o755)
		onNode.Manifest(t, dir, sys(fmt.Sprintf("built on the node, variant %d", i)))
	}
	repoImg := filepath.Join(work, "repo.img")
	if err := os.WriteFile(repoImg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(repoImg, 256<<20)
	e2etest.Run(t, mkfs, "-q", "-F", "-d", repoDir, repoImg)

	d, err := powercut.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	addr, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	boot := func(step string) *alpineNode {
		t.Helper()
		v := vmtest.Start(t, vm.Config{MemoryMiB: 768, NoReboot: true, Forwards: []vm.Forward{{GuestPort: 22}},
			Disks: []vm.Disk{{Path: addr}, {Path: repoImg, Snapshot: true}}})
		if _, err := v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
			t.Fatalf("%s: no login prompt: %v", step, err)
		}
		n := &alpineNode{t: t, v: v, addr: v.Forwards()[0].Host(), key: key}
		lines := n.v.Lines()
		if p := e2etest.OpenRCProblems(lines); len(p) > 0 {
			t.Errorf("%s: OpenRC reports failures:\n%s", step, strings.Join(p, "\n"))
		}
		confirmed := regexp.MustCompile(`generation (\d+) is confirmed`).FindStringSubmatch(strings.Join(lines, "\n"))
		if confirmed == nil {
			t.Errorf("%s: the booted generation was not confirmed:\n%s", step, grepLines(lines, "cairn"))
		}
		var fsck struct {
			Consistent bool `json:"consistent"`
			Problems   []struct {
				Path, What string
			} `json:"problems"`
		}
		out := n.ssh("doas cairn fsck --json")
		if err := json.Unmarshal([]byte(out), &fsck); err != nil || !fsck.Consistent {
			t.Errorf("%s: cairn fsck: %v\n%s", step, err, out)
		}
		t.Logf("%s: %s; %s; fsck: %d problems", step, grepLines(lines, "cairn-init: choosing"), strings.Join(confirmed, " "), len(fsck.Problems))
		// What the boot's first cairn command (cairn-confirm) repaired.
		if r := grepLines(lines, "fsck: repaired"); r != "" {
			t.Logf("%s: repaired at boot:\n%s", step, r)
		}
		return n
	}

	n := boot("first boot")
	for i := 1; i <= cuts; i++ {
		e2etest.MustSSH(t, n.addr, "alice", key, "doas sh -c '/usr/local/bin/cutloop </dev/null >/dev/console 2>&1 &'")
		// The moment of the cut is the experiment's input, not a wait
		// for something to happen: anywhere from the build's first
		// seconds to well into the switch-and-rollback rounds.
		after := time.Duration(2+rng.IntN(120)) * time.Second
		time.Sleep(after)
		last := ""
		if l := grepLines(n.v.Lines(), "CUTLOOP"); l != "" {
			last = l[strings.LastIndex(l, "\n")+1:]
			if f := grepLines(n.v.Lines(), "CUTLOOP failed "); f != "" {
				t.Logf("a step on the node failed:\n%s", f)
			}
		}
		if err := d.Cut(rng, 0.5); err != nil {
			t.Fatal(err)
		}
		n.v.Close()
		t.Logf("cut %d after %s (last step done: %q); disk so far: %+v", i, after, last, d.Stats())
		if t.Failed() {
			break
		}
		n = boot(fmt.Sprintf("boot after cut %d", i))
	}
	// After all the cuts the store still does its job: a build from the
	// repository disk and a switch to it succeed.
	if !t.Failed() {
		n.ssh("doas sh -c 'mount -o ro /dev/vdb /mnt; cairn build -f /mnt/m0/system.yaml --no-lock >/tmp/b.log 2>&1 || { tail -n 5 /tmp/b.log; exit 1; }; cairn switch'")
	}
	n.poweroff()
}
