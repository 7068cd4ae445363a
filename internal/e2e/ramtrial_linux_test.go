package e2e

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdisk "github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/ramboot"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// ramMediaLabel is the boot media's file system label: the loader's
// and, through cairn.persist=, the RAM system's persistence.
const ramMediaLabel = "cairn-ram"

// ramMediaStart and ramMediaSize place the one partition of the boot
// media: three images of the real Alpine system and their staging fit.
const (
	ramMediaStart = 1 << 20
	ramMediaSize  = 1023 << 20
)

// mountRAMMedia mounts the media's partition; the returned function
// unmounts it (also at the test's end).
func mountRAMMedia(t *testing.T, img string) (string, func()) {
	t.Helper()
	return e2etest.MountAt(t, img, ramMediaStart, ramMediaSize, "ext4", "")
}

// makeRAMMedia makes a BIOS-bootable disk image with syslinux's MBR and
// one active ext4 partition, and installs extlinux in /extlinux.
func makeRAMMedia(t *testing.T, img string) {
	t.Helper()
	mbr, err := os.ReadFile("/usr/lib/syslinux/mbr/mbr.bin")
	if err != nil {
		t.Fatalf("syslinux's MBR boot code (Debian package syslinux-common): %v", err)
	}
	sector := make([]byte, 512)
	copy(sector, mbr[:min(len(mbr), 440)])
	e := sector[446:]
	e[0] = 0x80
	copy(e[1:4], []byte{0xfe, 0xff, 0xff})
	e[4] = 0x83
	copy(e[5:8], []byte{0xfe, 0xff, 0xff})
	binary.LittleEndian.PutUint32(e[8:], ramMediaStart/512)
	binary.LittleEndian.PutUint32(e[12:], ramMediaSize/512)
	sector[510], sector[511] = 0x55, 0xaa
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(sector, 0)
	if err == nil {
		err = f.Truncate(ramMediaStart + ramMediaSize)
	}
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	l, err := cdisk.AttachLoop(img, ramMediaStart, ramMediaSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Detach() })
	e2etest.Run(t, "mkfs.ext4", "-q", "-O", "^64bit", "-L", ramMediaLabel, l.Dev)
	if err := l.Detach(); err != nil {
		t.Fatal(err)
	}
	mnt, undo := mountRAMMedia(t, img)
	os.Mkdir(filepath.Join(mnt, "extlinux"), 0o755)
	e2etest.RunNoSync(t, "extlinux", "--install", filepath.Join(mnt, "extlinux"))
	undo()
}

// TestRealAlpineRAMTrial is issue 14 item 5 on the real Alpine system:
// a diskless node boots RAM images from its boot media with extlinux
// (entries regular, old, new), and a new image is a one-shot trial
// (syslinux's boot-once in the ADV, written by cairn in Go: the node has
// no syslinux). Three boots:
//
//  1. image B, given a trial on the host (cairn ram try --media), boots
//     once and confirms itself: it is regular, A old. On the node, cairn
//     ram try gives image C, whose health check fails, a trial.
//  2. C boots once and is not confirmed; cairn status says so.
//  3. With no command in between, the next boot is B again; cairn status
//     says C's trial was not confirmed; cairn rollback makes A regular,
//     which the host reads back from the media.
func TestRealAlpineRAMTrial(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	debtest.Tool(t, "extlinux", "extlinux")
	debtest.Tool(t, "mkfs.ext4", "e2fsprogs")
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	work := t.TempDir()
	image := func(name string, s e2etest.AlpineSystem) string {
		t.Helper()
		dir := filepath.Join(work, name)
		os.Mkdir(dir, 0o755)
		s.Key = pub
		out := filepath.Join(dir, "ram")
		e2etest.Run(t, cairn, "image", "-f", r.Manifest(t, dir, s), "--format", "initramfs", "--persist", "LABEL="+ramMediaLabel, "-o", out)
		return out
	}
	imgA := image("a", e2etest.AlpineSystem{Description: "image A", Motd: "image A"})
	imgB := image("b", e2etest.AlpineSystem{Description: "image B", Motd: "image B"})
	imgC := image("c", e2etest.AlpineSystem{Description: "image C", Motd: "image C", Health: map[string]string{"fails": "false"}})

	media := filepath.Join(work, "media.img")
	makeRAMMedia(t, media)
	mnt, undo := mountRAMMedia(t, media)
	out := e2etest.Run(t, cairn, "ram", "install", "--media", mnt, imgA)
	a := regexp.MustCompile(`image (\w+) is the regular`).FindStringSubmatch(out)[1]

	// cairn reads the ADV Debian's extlinux writes, and the other way
	// round is what the boots show.
	e2etest.RunNoSync(t, "extlinux", "--once=old", filepath.Join(mnt, "extlinux"))
	if adv, err := ramboot.ReadADVFile(filepath.Join(mnt, "extlinux/ldlinux.sys")); err != nil {
		t.Fatal(err)
	} else if v, _ := adv.Get(ramboot.TagBootOnce); v != "old" {
		t.Fatalf("extlinux --once=old: cairn reads boot-once %q", v)
	}
	e2etest.RunNoSync(t, "extlinux", "--clear-once", filepath.Join(mnt, "extlinux"))

	out = e2etest.Run(t, cairn, "ram", "try", "--media", mnt, imgB)
	b := regexp.MustCompile(`image (\w+) boots once`).FindStringSubmatch(out)[1]
	e2etest.Run(t, "cp", "-a", imgC, filepath.Join(mnt, "stage-c"))
	undo()

	// boot boots the media and waits for the login prompt.
	boot := func(step string) (*alpineNode, string) {
		t.Helper()
		start := time.Now()
		v := vmtest.Start(t, vm.Config{MemoryMiB: 1024, Disks: []vm.Disk{{Path: media}}, NoReboot: true, Forwards: []vm.Forward{{GuestPort: 22}}})
		if _, err := v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
			t.Fatalf("%s: no login prompt on the serial console: %v", step, err)
		}
		t.Logf("%s: qemu start to the login prompt: %.1f s", step, time.Since(start).Seconds())
		return &alpineNode{t: t, v: v, addr: v.Forwards()[0].Host(), key: key}, strings.Join(v.Lines(), "\n")
	}
	status := func(n *alpineNode) ramboot.Status {
		t.Helper()
		var st ramboot.Status
		out := n.ssh("doas cairn status --json")
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("cairn status --json: %v\n%s", err, out)
		}
		return st
	}

	// 1.
	n, console := boot("step 1")
	if !strings.Contains(console, "cairn.ram.entry=new") || !strings.Contains(console, "image "+b+" was confirmed") {
		t.Errorf("step 1: the console does not show the trial of %s confirmed:\n%s", b, grepLines(n.v.Lines(), "cairn"))
	}
	if got := n.ssh("cat /etc/motd"); got != "image B\n" {
		t.Errorf("step 1: motd %q", got)
	}
	// syslinux itself took the boot-once out of the ADV cairn wrote
	// (cairn would say it had to).
	if strings.Contains(console, "boot-once") {
		t.Errorf("step 1: the loader left the boot-once:\n%s", grepLines(n.v.Lines(), "boot-once"))
	}
	if st := status(n); st.Booted != (ramboot.Booted{Image: b, Entry: "new"}) || st.Regular != b || st.Old != a || st.Trial != "" || st.LastTrial == nil || !st.LastTrial.Confirmed {
		t.Errorf("step 1: status %+v %+v", st, st.LastTrial)
	}
	out = n.ssh("doas cairn ram try /run/cairn/persist/stage-c")
	c := regexp.MustCompile(`image (\w+) boots once`).FindStringSubmatch(out)[1]
	t.Logf("step 1, on the node: %s", out)
	n.poweroff()

	// 2.
	n, console = boot("step 2")
	if !strings.Contains(console, "FAIL  fails") || !strings.Contains(console, "image "+c+" is not confirmed") {
		t.Errorf("step 2: the console does not show the trial of %s failing:\n%s", c, grepLines(n.v.Lines(), "cairn"))
	}
	if strings.Contains(console, "boot-once") {
		t.Errorf("step 2: the loader left the boot-once:\n%s", grepLines(n.v.Lines(), "boot-once"))
	}
	if st := status(n); st.Booted != (ramboot.Booted{Image: c, Entry: "new"}) || st.Trial != c || st.NextBoot != b || st.Regular != b {
		t.Errorf("step 2: status %+v", st)
	}
	t.Logf("step 2, cairn status:\n%s", n.ssh("doas cairn status"))
	n.poweroff()

	// 3.
	n, _ = boot("step 3")
	if got := n.ssh("cat /etc/motd"); got != "image B\n" {
		t.Errorf("step 3: motd %q, want image B's", got)
	}
	out = n.ssh("doas cairn status")
	t.Logf("step 3, cairn status:\n%s", out)
	if !strings.Contains(out, "running:    image "+b+" (entry regular)") || !strings.Contains(out, "image "+c+" was tried and not confirmed") {
		t.Errorf("step 3: cairn status says\n%s", out)
	}
	out = n.ssh("doas cairn rollback")
	if !strings.Contains(out, "image "+a+" boots next") {
		t.Errorf("step 3: cairn rollback says %q", out)
	}
	if st := status(n); st.Regular != a || st.Old != b || st.NextBoot != a {
		t.Errorf("step 3, after the rollback: status %+v", st)
	}
	n.poweroff()

	mnt, _ = mountRAMMedia(t, media)
	conf, err := os.ReadFile(filepath.Join(mnt, "extlinux/extlinux.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "LABEL regular\n  LINUX /cairn/ram/images/"+a+"/vmlinuz") {
		t.Errorf("after the rollback, extlinux.conf:\n%s", conf)
	}
	if adv, err := ramboot.ReadADVFile(filepath.Join(mnt, "extlinux/ldlinux.sys")); err != nil {
		t.Error(err)
	} else if v, ok := adv.Get(ramboot.TagBootOnce); ok {
		t.Errorf("boot-once %q left in the ADV", v)
	}
}
