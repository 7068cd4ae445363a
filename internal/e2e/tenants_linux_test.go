package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/container"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// podmanStandIn stands in for podman on the real Alpine system, whose ISO
// packages have none: it records every call (each argument on a line of
// its own, a line "--" after each call) and plays the part: the image and
// the network are missing until loaded and made, `run` becomes a
// long-running process (reporting its cgroup), the healthcheck passes.
const podmanStandIn = `#!/bin/sh
{ for a in "$@"; do printf '%s\n' "$a"; done; echo --; } >> /var/log/podman-calls
case "$1 $2" in
"image exists") exec test -e /run/standin-image ;;
"pull --quiet") touch /run/standin-image; exit 0 ;;
"network exists") exec test -e /run/standin-network ;;
"network create") touch /run/standin-network; exit 0 ;;
"healthcheck run"|"stop --ignore"|"rm --force"|"rmi --ignore") exit 0 ;;
"--cgroup-manager cgroupfs")
	cat /proc/self/cgroup > /run/standin-run-cgroup
	exec sleep 100000 ;;
esac
exit 125
`

// carolProfile is a tenant's UserProfile: the cluster guide's shape,
// smaller (so that the test reaches the limits), with a key.
const carolProfile = `apiVersion: v1
kind: UserProfile
metadata:
  name: carol
  version: "1.0"
spec:
  user:
    ssh_authorized_keys: [%q]
  filesystem: {subvolume: true, quota: "20M"}
  services:
    allowed: [hog, web]
    resources: {cpu_quota: "0.5", memory_limit: "32M"}
  network: {namespace: true}
`

// TestRealAlpineTenants boots the real Alpine system with a tenant, as a
// trial, in one boot:
//
//   - the tenant's service hog goes past its memory.max: the kernel kills
//     its dd inside the service's cgroup, while the node (sshd, other
//     services, the tenant's other service) stays up;
//   - the tenant writing past its home's quota gets EDQUOT (qgroups: the
//     kernel is 6.1, without simple quotas);
//   - the tenant's ssh session runs in the tenant's cgroup;
//   - the tenant's service runs in the tenant's network namespace, as the
//     tenant;
//   - the container web (of the tenant) starts under real OpenRC with a
//     stand-in for podman: the calls it recorded are the command lines
//     cairn renders, and the container's process is in its service's
//     cgroup, under the tenant's limits;
//   - the service batch has a pids.max that cannot apply (the kernel
//     command line disables the pids controller; OpenRC skips the limit
//     without a word): the trial's check reads it back, fails, and the
//     trial is not confirmed;
//   - cairn gc removes a container's image that no generation uses, not
//     web's.
func TestRealAlpineTenants(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	carolKey, carolPub := e2etest.SSHKey(t)
	dir := t.TempDir()
	r.Manifest(t, dir, e2etest.AlpineSystem{Description: "before the tenants", Motd: "a node", Key: pub})
	// The kernel command line disables the pids controller. Both
	// generations say so: the trial boots through the default's loader
	// entry.
	base := filepath.Join(dir, "base.yaml")
	writeText(t, base, "apiVersion: cairn/v1\nkind: System\ninclude: [system.yaml]\nkernel:\n  cmdline: [cgroup_disable=pids]\n")

	digest := e2etest.OCIImage(t, cairn, e2etest.ImageSource{Repositories: []string{r.ISO}, Keys: r.Local.Keys,
		Packages: []string{"alpine-baselayout-data", "busybox"}}, filepath.Join(dir, "web.tar"))
	writeText(t, filepath.Join(dir, "carol.yaml"), fmt.Sprintf(carolProfile, carolPub))
	top := filepath.Join(dir, "tenants.yaml")
	writeText(t, top, fmt.Sprintf(`apiVersion: cairn/v1
kind: System
description: tenants
include: [%s, carol.yaml]
persist: [/srv/web]
services:
  default: [hog, idle, batch]
  define:
    hog:
      command: /bin/sh
      args: [-c, "id -un; route -n; dd if=/dev/zero of=/dev/null bs=48M count=1; echo dd exited $?; exec sleep 100000"]
      outputLog: /tmp/hog.log
    idle:
      command: /bin/sleep
      args: ["100000"]
    batch:
      command: /bin/sleep
      args: ["100000"]
      cgroup: {pids.max: "64"}
containers:
  web:
    image: localhost/web@%s
    archive: web.tar
    command: [httpd, -f, -p, "8080"]
    user: "65534"
    environment: {GREETING: hello}
    ports: ["8080:8080"]
    volumes: ["/srv/web:/www:ro"]
    network: homelab
    healthcheck: {command: "wget -q -O /dev/null http://127.0.0.1:8080/", startPeriod: 30s}
files:
  inline:
    - path: /usr/bin/podman
      mode: "0755"
      content: %q
`, filepath.Base(base), digest, podmanStandIn))

	img := filepath.Join(dir, "disk.img")
	e2etest.Run(t, cairn, "image", "-f", base, "--format", "disk", "--firmware", "bios", "--size", "1536M", "-o", img)
	st, undo := e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	e2etest.Run(t, cairn, "build", "-f", top, "--store", st)
	e2etest.Run(t, cairn, "switch", "--store", st, "2")
	undo()

	n := bootAlpine(t, img, key)
	console := strings.Join(n.v.Lines(), "\n")
	for _, want := range []string{"cairn-init: choosing generation 2 on trial", "Applying the tenants' limits", "generation 2 failed its health checks and is not confirmed"} {
		if !strings.Contains(console, want) {
			t.Errorf("no %q on the console", want)
		}
	}
	// The trial fails on the one limit that cannot apply, and on nothing
	// else.
	// (The check's message may go on to the next line.)
	fails := grepLines(n.v.Lines(), "FAIL ")
	if !regexp.MustCompile(`FAIL  limits: [^\n]*(\n[^\n]*)?service batch \(services\.define\.batch\.cgroup\["pids\.max"\]\): pids\.max 64 is not set in /sys/fs/cgroup/openrc\.batch: the pids controller is not enabled there`).MatchString(console) ||
		strings.Count(fails, "FAIL") != 1 {
		t.Errorf("the trial's failures:\n%s", grepLines(n.v.Lines(), "limit"))
	}
	started := e2etest.OpenRCStarted(n.v.Lines())
	for _, s := range []string{"sshd", "hog", "idle", "batch"} {
		if !slices.Contains(started, s) {
			t.Errorf("OpenRC did not report %q started; started: %q", s, started)
		}
	}
	for _, step := range []string{"Applying the tenants' limits", "Waiting for web to be healthy"} {
		if !regexp.MustCompile(`\* ` + regexp.QuoteMeta(step) + ` \.\.\..*\[ ok \]`).MatchString(console) {
			t.Errorf("OpenRC did not report %q [ ok ]:\n%s", step, grepLines(n.v.Lines(), step))
		}
	}
	var status map[string]any
	if err := json.Unmarshal([]byte(n.ssh("doas cairn status --json")), &status); err != nil || status["booted"] != 2.0 || status["default"] != 1.0 {
		t.Errorf("cairn status: %v, %v", status, err)
	}

	// 1. hog went past memory.max: killed inside its cgroup.
	if events := n.ssh("cat /sys/fs/cgroup/openrc.hog/memory.events"); !regexp.MustCompile(`(?m)^oom_kill [1-9]`).MatchString(events) {
		t.Errorf("no OOM kill in hog's cgroup:\n%s", events)
	}
	if max := n.ssh("cat /sys/fs/cgroup/openrc.hog/memory.max"); max != "33554432\n" {
		t.Errorf("hog's memory.max: %q, want the tenant's 32M", max)
	}
	dmesg := n.ssh("doas dmesg")
	if !regexp.MustCompile(`oom_memcg=/openrc\.hog,task_memcg=/openrc\.hog,task=dd`).MatchString(dmesg) {
		t.Errorf("the kernel's OOM kill was not inside /openrc.hog:\n%s", grepLines(strings.Split(dmesg, "\n"), "oom"))
	}
	// hog ran as carol, in carol's network namespace (its default route
	// through the node's end of the veth link), and its dd was killed.
	if log := n.ssh("doas cat /tmp/hog.log"); !strings.HasPrefix(log, "carol\n") ||
		!regexp.MustCompile(`(?m)^0\.0\.0\.0\s+10\.250\.0\.1\s+0\.0\.0\.0\s+UG.*eth0$`).MatchString(log) || !strings.HasSuffix(log, "dd exited 137\n") {
		t.Errorf("hog's log:\n%s", log)
	}
	for _, svc := range []string{"hog", "idle", "sshd", "web"} {
		if out := n.ssh("rc-service " + svc + " status"); !strings.Contains(out, "started") {
			t.Errorf("%s after the OOM kill: %s", svc, out)
		}
	}
	if events := n.ssh("cat /sys/fs/cgroup/openrc.idle/memory.events /sys/fs/cgroup/openrc.sshd/memory.events"); regexp.MustCompile(`(?m)^oom_kill [1-9]`).MatchString(events) {
		t.Errorf("an OOM kill outside the tenant's service:\n%s", events)
	}

	// 2. Past the quota: EDQUOT.
	carol := func(cmd string) (string, error) { return e2etest.SSH(n.addr, "carol", carolKey, cmd) }
	out, err := carol("dd if=/dev/zero of=$HOME/fill bs=1M count=64 2>&1; sync; echo exit $?")
	// EDQUOT, as musl words it ("Quota exceeded"; glibc: "Disk quota
	// exceeded").
	if !strings.Contains(out, "Quota exceeded") {
		t.Errorf("writing 64 MiB into a home with a 20M quota: %v\n%s", err, out)
	}

	// 3. carol's session is in carol's cgroup.
	if out, err := carol("cat /proc/self/cgroup"); err != nil || out != "0::/tenants/carol\n" {
		t.Errorf("carol's ssh session's cgroup: %q, %v", out, err)
	}
	for file, want := range map[string]string{"memory.max": "33554432\n", "cpu.max": "50000 100000\n"} {
		if got := n.ssh("cat /sys/fs/cgroup/tenants/carol/" + file); got != want {
			t.Errorf("carol's %s: %q, want %q", file, got, want)
		}
	}

	// 4. The container, under real OpenRC with the stand-in.
	sys, err := manifest.Load(top)
	if err != nil {
		t.Fatal(err)
	}
	sys.ApplyDefaults()
	image, err := container.ReadImage(dir, "web", sys.Containers["web"])
	if err != nil {
		t.Fatal(err)
	}
	cmds := container.CommandsFor("web", sys.Containers["web"], image)
	calls := parseCalls(n.ssh("cat /var/log/podman-calls"))
	want := [][]string{cmds.ImageExists, cmds.Load, cmds.NetworkExists, cmds.NetworkCreate}
	if len(calls) < len(want)+2 || !slices.EqualFunc(calls[:len(want)], want, slices.Equal[[]string]) {
		t.Fatalf("the service's first podman calls:\n%q\nwant\n%q", calls, want)
	}
	rest := calls[len(want):]
	if runs := slices.IndexFunc(rest, func(c []string) bool { return slices.Equal(c, cmds.Run) }); runs < 0 {
		t.Errorf("no `podman run` as cairn renders it among %q\nwant %q", rest, cmds.Run)
	}
	for _, c := range rest {
		if !slices.Equal(c, cmds.Run) && !slices.Equal(c, cmds.Health) {
			t.Errorf("a podman call that is neither run nor the healthcheck: %q", c)
		}
	}
	if got := n.ssh("cat /run/standin-run-cgroup"); got != "0::/openrc.web\n" {
		t.Errorf("the container's process is in %q, not its service's cgroup", got)
	}
	if got := n.ssh("cat /sys/fs/cgroup/openrc.web/memory.max /var/lib/cairn/containers/loaded"); got != "33554432\n"+image.ID+"\n" {
		t.Errorf("web's memory.max and the loaded images: %q", got)
	}

	// 5. gc removes the images that no generation uses, and only those:
	// an image loaded for a generation since deleted (its id added to
	// the record, as its service would have) goes, web's stays.
	gone := strings.Repeat("0123456789abcdef", 4)
	n.ssh("doas sh -c 'echo " + gone + " >> " + container.LoadedRecord + "; : > /var/log/podman-calls'")
	gcOut := n.ssh("doas cairn gc --keep 1")
	if calls := parseCalls(n.ssh("cat /var/log/podman-calls")); len(calls) != 1 || !slices.Equal(calls[0], []string{"rmi", "--ignore", gone}) {
		t.Errorf("gc's podman calls: %q, want only rmi --ignore %s\n%s", calls, gone, gcOut)
	}
	if !strings.Contains(gcOut, "removed podman image "+gone+": no generation's container uses it") {
		t.Errorf("cairn gc:\n%s", gcOut)
	}
	if got := n.ssh("cat " + container.LoadedRecord); got != image.ID+"\n" {
		t.Errorf("the loaded images after gc: %q, want web's only", got)
	}

	// cairn tenants reports it all.
	var report struct {
		Tenants []struct {
			Name       string `json:"name"`
			HomeBytes  uint64 `json:"homeBytes"`
			QuotaBytes uint64 `json:"quotaBytes"`
			Services   []struct {
				Owner    string `json:"owner"`
				OOMKills int    `json:"oomKills"`
			} `json:"services"`
		} `json:"tenants"`
	}
	if err := json.Unmarshal([]byte(n.ssh("doas cairn tenants --json")), &report); err != nil || len(report.Tenants) != 1 {
		t.Fatalf("cairn tenants --json: %v, %+v", err, report)
	}
	tr := report.Tenants[0]
	if tr.Name != "carol" || tr.QuotaBytes != 20<<20 || tr.HomeBytes < 10<<20 || tr.HomeBytes > 21<<20 || len(tr.Services) != 2 || tr.Services[0].OOMKills < 1 {
		t.Errorf("cairn tenants: %+v", tr)
	}
	t.Logf("cairn tenants on the node:\n%s", n.ssh("doas cairn tenants"))
	n.poweroff()
}

// parseCalls reads the stand-in's record: the arguments of each call.
func parseCalls(log string) [][]string {
	var calls [][]string
	var cur []string
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if line == "--" {
			calls = append(calls, cur)
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return calls
}
