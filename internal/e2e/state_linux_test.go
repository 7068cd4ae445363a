package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/state"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestRealAlpineState is issue 14's life of state on the real Alpine
// system, in three boots:
//
//  1. generation 1 declares /var/lib/demo/managed.conf (managed, the
//     default) and seed.conf and seed2.conf (seeds), and schedules
//     snapshots of /srv. On the node: a hand edit of managed.conf and of
//     seed.conf, and a service started by hand, which cairn drift lists;
//     cairn capture writes seed.conf's edit into a copy of the manifest
//     kept on the node; a snapshot of /srv is taken and a file restored
//     from it; cron has the snapshot script and crond runs.
//  2. generation 2, built on the host from the captured manifest with
//     managed.conf and seed2.conf changed: the build warns that the node
//     keeps its seed2.conf; after the switch the new managed.conf is in
//     place (the hand-edited one kept), seed.conf is the hand edit, and
//     cairn drift shows nothing of the declared files nor the service.
//     cairn rollback.
//  3. generation 1 again: its managed.conf is back.
func TestRealAlpineState(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	work := t.TempDir()
	g1 := filepath.Join(work, "g1")
	if err := os.MkdirAll(g1, 0o755); err != nil {
		t.Fatal(err)
	}
	mf1 := r.Manifest(t, g1, e2etest.AlpineSystem{Description: "generation one", Motd: "state", Key: pub,
		Persist: []string{"/srv"},
		Files: []e2etest.File{
			{Path: "/var/lib/demo/managed.conf", Content: "managed one\n"},
			{Path: "/var/lib/demo/seed.conf", Content: "seed one\n", State: "seed"},
			{Path: "/var/lib/demo/seed2.conf", Content: "seed2 one\n", State: "seed"},
		},
		Extra: "snapshots:\n  - path: /srv\n    every: 1h\n    preserveMin: 6h\n    preserve: 48h 7d 4w 12m\n",
	})
	img := filepath.Join(work, "disk.img")
	e2etest.Run(t, cairn, "image", "-f", mf1, "--format", "disk", "--firmware", "bios", "--size", "1536M", "-o", img)

	// 1. Generation 1, hand edits, drift, capture, a snapshot.
	n := bootAlpine(t, img, key)
	lines := n.checkConsole("generation 1")
	t.Logf("generation 1: %s", grepLines(lines, "cairn-init: "))
	if got := n.ssh("cat /var/lib/demo/managed.conf /var/lib/demo/seed.conf"); got != "managed one\nseed one\n" {
		t.Errorf("generation 1's declared files: %q", got)
	}
	t.Logf("drift right after the first boot:\n%s", n.ssh("doas cairn drift"))
	n.ssh("doas sh -c 'echo hand managed > /var/lib/demo/managed.conf; echo hand edit > /var/lib/demo/seed.conf' && doas rc-service local start")
	drift := n.drift()
	for _, want := range []state.FileDrift{
		{Path: "/var/lib/demo/managed.conf", Kind: "changed", How: "content", Declared: "managed"},
		{Path: "/var/lib/demo/seed.conf", Kind: "changed", How: "content", Declared: "seed"},
	} {
		if !containsDrift(drift.Files, want) {
			t.Errorf("cairn drift does not show %+v: %+v", want, drift.Files)
		}
	}
	if !containsService(drift.Services, "local") {
		t.Errorf("cairn drift does not show the service started by hand: %+v", drift.Services)
	}
	t.Logf("cairn drift after the hand edits:\n%s", n.ssh("doas cairn drift"))
	// The manifest, kept on the node (in /var, which persists).
	src, err := os.ReadFile(mf1)
	if err != nil {
		t.Fatal(err)
	}
	n.ssh("doas mkdir -p /var/lib/sys && echo " + base64.StdEncoding.EncodeToString(src) + " | base64 -d | doas tee /var/lib/sys/system.yaml >/dev/null")
	if out := n.ssh("doas cairn capture -f /var/lib/sys/system.yaml /var/lib/demo/seed.conf"); !strings.Contains(out, "/var/lib/demo/seed.conf: updated files.inline[") {
		t.Errorf("cairn capture: %s", out)
	}
	// Snapshots of /srv: cron takes them, here by hand; a file restored.
	n.ssh("test -x /etc/periodic/15min/cairn-snapshots && rc-service crond status")
	n.ssh("doas sh -c 'echo precious > /srv/data'")
	if out := n.ssh("doas cairn snapshots take"); !strings.Contains(out, "/srv: took ") {
		t.Errorf("cairn snapshots take: %s", out)
	}
	n.ssh("doas sh -c 'echo oops > /srv/data'")
	if out := n.ssh("doas cairn snapshots restore /srv latest /srv/data"); !strings.Contains(out, "/srv/data restored from snapshot") {
		t.Errorf("cairn snapshots restore: %s", out)
	}
	if got := n.ssh("cat /srv/data /srv/data.before-restore"); got != "precious\noops\n" {
		t.Errorf("/srv/data after the restore, and the one replaced: %q", got)
	}
	var snaps []map[string]any
	if out := n.ssh("doas cairn snapshots list --json"); json.Unmarshal([]byte(out), &snaps) != nil || len(snaps) != 1 || snaps[0]["path"] != "/srv" {
		t.Errorf("cairn snapshots list --json: %s", out)
	}
	n.poweroff()

	// 2. Generation 2 from the captured manifest, on the host.
	top, undo := e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	captured, err := os.ReadFile(filepath.Join(top, "@cairn", "persist", "var", "lib", "sys", "system.yaml"))
	if err != nil {
		undo()
		t.Fatal(err)
	}
	if !strings.Contains(string(captured), "hand edit") {
		t.Errorf("the captured manifest does not have the hand edit:\n%s", captured)
	}
	g2 := filepath.Join(work, "g2")
	os.MkdirAll(g2, 0o755)
	mf2 := strings.NewReplacer("managed one", "managed two", "seed2 one", "seed2 two", "generation one", "generation two").Replace(string(captured))
	if err := os.WriteFile(filepath.Join(g2, "system.yaml"), []byte(mf2), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e2etest.Run(t, cairn, "build", "-f", filepath.Join(g2, "system.yaml"), "--store", top)
	if !strings.Contains(out, "cairn: warning: seed /var/lib/demo/seed2.conf") || strings.Contains(out, "seed /var/lib/demo/seed.conf") {
		t.Errorf("the build does not warn (only) that the node keeps its seed2.conf:\n%s", grepLines(strings.Split(out, "\n"), "warning"))
	}
	e2etest.Run(t, cairn, "switch", "--store", top, "2")
	undo()
	n = bootAlpine(t, img, key)
	lines = n.checkConsole("generation 2")
	t.Logf("generation 2: %s", grepLines(lines, "cairn-init: "))
	if got := n.ssh("cat /var/lib/demo/managed.conf /var/lib/demo/seed.conf /var/lib/demo/seed2.conf"); got != "managed two\nhand edit\nseed2 one\n" {
		t.Errorf("generation 2's managed file, the captured seed and the node's seed2: %q", got)
	}
	if got := n.ssh("doas sh -c 'cat /var/lib/cairn/replaced/var/lib/demo/managed.conf@2*'"); got != "hand managed\n" {
		t.Errorf("the hand-edited managed file the boot replaced is not kept: %q", got)
	}
	// The captured hand edit no longer drifts; of the declared files only
	// seed2.conf does, which generation 2 changed and the node kept (the
	// build warned). What services rewrite in their own seeded state
	// (bootmisc's /var/lock, chrony's drift file) is drift too, and not
	// the manifest's business.
	drift = n.drift()
	for _, f := range drift.Files {
		if (strings.HasPrefix(f.Path, "/var/lib/demo") || f.Declared != "") && f != (state.FileDrift{Path: "/var/lib/demo/seed2.conf", Kind: "changed", How: "content", Declared: "seed"}) {
			t.Errorf("generation 2 drifts in a declared file: %+v", f)
		}
	}
	if len(drift.Services) > 0 {
		t.Errorf("generation 2: services drift: %+v", drift.Services)
	}
	t.Logf("cairn drift on generation 2:\n%s", n.ssh("doas cairn drift"))
	if out := n.ssh("doas cairn rollback 2>&1"); !strings.Contains(out, "generation 1 boots next") {
		t.Errorf("cairn rollback: %s", out)
	}
	n.poweroff()

	// 3. Back on generation 1: its managed file is back.
	n = bootAlpine(t, img, key)
	n.checkConsole("rollback")
	if st := n.status(); st["booted"] != 1.0 {
		t.Errorf("after the rollback: %v", st)
	}
	if got := n.ssh("cat /var/lib/demo/managed.conf /var/lib/demo/seed.conf"); got != "managed one\nhand edit\n" {
		t.Errorf("after the rollback, the managed file and the seed: %q", got)
	}
	n.poweroff()
}

// drift is `cairn drift --json` on the node.
func (n *alpineNode) drift() state.DriftReport {
	n.t.Helper()
	var r state.DriftReport
	out := n.ssh("doas cairn drift --json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		n.t.Fatalf("cairn drift --json: %v\n%s", err, out)
	}
	return r
}

func containsDrift(fs []state.FileDrift, want state.FileDrift) bool {
	for _, f := range fs {
		if f == want {
			return true
		}
	}
	return false
}

func containsService(ss []state.ServiceDrift, name string) bool {
	for _, s := range ss {
		if s.Name == name {
			return true
		}
	}
	return false
}
