package tenant

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeCgroups lays out a cgroup2 tree in a temporary directory as the
// kernel shows it: each cgroup a directory with its interface files.
// Only what the test makes exists; mkdir makes no files, so the test
// makes the cgroups the kernel would fill.
type fakeCgroups struct {
	t    *testing.T
	root string
}

func newFakeCgroups(t *testing.T, controllers string) *fakeCgroups {
	f := &fakeCgroups{t: t, root: t.TempDir()}
	f.cgroup("", map[string]string{"cgroup.controllers": controllers, "cgroup.subtree_control": "", "cgroup.procs": ""})
	return f
}

// cgroup makes the cgroup rel with files.
func (f *fakeCgroups) cgroup(rel string, files map[string]string) {
	dir := filepath.Join(f.root, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fakeCgroups) read(rel string) string {
	data, err := os.ReadFile(filepath.Join(f.root, rel))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

// fakeQuotas stands in for btrfs: the homes in subvolumes are
// subvolumes, snapshots are directories.
type fakeQuotas struct {
	subvolumes map[string]uint64
	limits     map[uint64]uint64
	enabled    bool
	snapshots  []string
	deleted    []string
}

func (q *fakeQuotas) Subvolume(dir string) (uint64, error) {
	if id, ok := q.subvolumes[dir]; ok {
		return id, nil
	}
	return 0, errors.New("not the root of a subvolume")
}
func (q *fakeQuotas) Enable(string) (string, error) { q.enabled = true; return "qgroups", nil }
func (q *fakeQuotas) SetLimit(_ string, id, b uint64) error {
	q.limits[id] = b
	return nil
}
func (q *fakeQuotas) Limit(_ string, id uint64) (uint64, error) {
	if !q.enabled {
		return 0, errors.New("quotas are off on its file system")
	}
	return q.limits[id], nil
}
func (q *fakeQuotas) Usage(string, uint64) (uint64, error) { return 1 << 20, nil }
func (q *fakeQuotas) Snapshot(_, dst string) error {
	q.snapshots = append(q.snapshots, filepath.Base(dst))
	return os.Mkdir(dst, 0o755)
}
func (q *fakeQuotas) Delete(path string) error {
	q.deleted = append(q.deleted, filepath.Base(path))
	return os.Remove(path)
}

func testPlan() Plan {
	return Plan{
		Tenants: []Tenant{{Name: "carol", Home: "/home/carol", Subvolume: true, QuotaBytes: 20 << 20, Cgroup: "/tenants/carol",
			Limits: map[string]string{"cpu.max": "50000 100000", "memory.max": "67108864"}, Services: []string{"hog"},
			Keys: []string{"ssh-ed25519 AAAA carol@laptop"}}},
		Limits: []Limit{
			{Owner: "tenant carol", Key: "tenants[0].spec.services.resources", Cgroup: "/tenants/carol", File: "cpu.max", Value: "50000 100000"},
			{Owner: "tenant carol", Key: "tenants[0].spec.services.resources", Cgroup: "/tenants/carol", File: "memory.max", Value: "67108864"},
			{Owner: "service hog", Key: "tenants[0].spec.services.resources", Cgroup: "/openrc.hog", File: "memory.max", Value: "32M"},
			{Owner: "service batch", Key: `services.define.batch.cgroup["pids.max"]`, Cgroup: "/openrc.batch", File: "pids.max", Value: "64"},
		},
	}
}

func testNode(t *testing.T, cg *fakeCgroups) (*Node, *fakeQuotas) {
	root := t.TempDir()
	q := &fakeQuotas{subvolumes: map[string]uint64{filepath.Join(root, "home/carol"): 261}, limits: map[uint64]uint64{}}
	return &Node{Root: root, Cgroups: cg.root, Store: t.TempDir(), Quotas: q,
		IsCgroup2: func(string) (bool, error) { return true, nil }, Now: time.Now}, q
}

// TestApply: the tenant's cgroup gets its limits, the controllers are
// handed on from the top down, and the home its quota.
func TestApply(t *testing.T) {
	cg := newFakeCgroups(t, "cpuset cpu io memory pids")
	// What the kernel shows once the root hands cpu and memory on.
	cg.cgroup("tenants", map[string]string{"cgroup.controllers": "cpu memory", "cgroup.subtree_control": ""})
	cg.cgroup("tenants/carol", map[string]string{"cpu.max": "max 100000", "memory.max": "max", "cgroup.procs": ""})
	n, q := testNode(t, cg)
	if err := n.Apply(testPlan()); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"cgroup.subtree_control":         "+cpu +memory",
		"tenants/cgroup.subtree_control": "+cpu +memory",
		"tenants/carol/cpu.max":          "50000 100000",
		"tenants/carol/memory.max":       "67108864",
	} {
		if got := cg.read(file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if !q.enabled || q.limits[261] != 20<<20 {
		t.Errorf("quota: enabled %v, limits %v", q.enabled, q.limits)
	}
}

// TestApplyRefuses: what cannot apply is an error naming why.
func TestApplyRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(cg *fakeCgroups, n *Node)
		want  string
	}{
		{"no memory controller", func(cg *fakeCgroups, n *Node) {}, "the memory controller is not available"},
		{"not cgroup2", func(cg *fakeCgroups, n *Node) {
			n.IsCgroup2 = func(string) (bool, error) { return false, nil }
		}, "is not a cgroup2 mount: OpenRC's cgroups service mounts it"},
		{"home not a subvolume", func(cg *fakeCgroups, n *Node) {
			n.Quotas.(*fakeQuotas).subvolumes = nil
		}, "tenant carol: quota: /home/carol is not a btrfs subvolume of its own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			controllers := "cpu memory pids"
			if tc.name == "no memory controller" {
				controllers = "cpu pids"
			}
			cg := newFakeCgroups(t, controllers)
			cg.cgroup("tenants", map[string]string{"cgroup.controllers": controllers, "cgroup.subtree_control": ""})
			cg.cgroup("tenants/carol", map[string]string{"cpu.max": "max 100000", "memory.max": "max"})
			n, _ := testNode(t, cg)
			tc.setup(cg, n)
			err := n.Apply(testPlan())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCheck reads limits back as the trial does.
func TestCheck(t *testing.T) {
	cg := newFakeCgroups(t, "cpu memory pids")
	cg.cgroup("tenants/carol", map[string]string{"cpu.max": "50000 100000", "memory.max": "67108864"})
	cg.cgroup("openrc.hog", map[string]string{"memory.max": "33554432"})
	cg.cgroup("openrc.batch", map[string]string{"memory.max": "max"}) // no pids.max: controller off
	n, q := testNode(t, cg)
	q.enabled = true
	q.limits[261] = 20 << 20
	problems := n.Check(testPlan())
	if len(problems) != 1 || problems[0].Owner != "service batch" ||
		problems[0].What != "pids.max 64 is not set in "+filepath.Join(cg.root, "openrc.batch")+": the pids controller is not enabled there (cgroup_disable=pids?)" {
		t.Fatalf("problems: %+v", problems)
	}

	// Every way a limit can be missing is a problem.
	cg.cgroup("openrc.batch", map[string]string{"pids.max": "64"})
	cg.cgroup("tenants/carol", map[string]string{"memory.max": "max"})
	os.RemoveAll(filepath.Join(cg.root, "openrc.hog"))
	q.limits[261] = 0
	var got []string
	for _, p := range n.Check(testPlan()) {
		got = append(got, p.String())
	}
	want := []string{
		"tenant carol (tenants[0].spec.services.resources): memory.max is max in " + filepath.Join(cg.root, "tenants/carol") + ", not 67108864",
		"service hog (tenants[0].spec.services.resources): no cgroup " + filepath.Join(cg.root, "openrc.hog") + ": not running, or OpenRC put it in no cgroup (its cgroups service must be in sysinit)",
		"tenant carol (tenants[0].spec.filesystem.quota): /home/carol has no quota, not 20971520 bytes",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSameValue(t *testing.T) {
	for _, tc := range []struct {
		file, want, got string
		same            bool
	}{
		{"memory.max", "4G", "4294967296", true},
		{"memory.max", "100000", "98304", true}, // whole pages
		{"memory.max", "4G", "max", false},
		{"memory.high", "max", "max", true},
		{"cpu.max", "200000", "200000 100000", true},
		{"cpu.max", "200000 100000", "200000 100000", true},
		{"cpu.max", "200000 50000", "200000 100000", false},
		{"cpu.max", "max", "max 100000", true},
		{"pids.max", "64", "64", true},
		{"pids.max", "64", "max", false},
		{"io.weight", "default 100", "default 100\n", true},
	} {
		if got := sameValue(tc.file, tc.want, tc.got); got != tc.same {
			t.Errorf("sameValue(%s, %q, %q) = %v", tc.file, tc.want, tc.got, got)
		}
	}
}

// TestSSHSession: sshd's lookup puts the connection into the tenant's
// cgroup and answers its keys; a cgroup it cannot enter means no keys.
func TestSSHSession(t *testing.T) {
	cg := newFakeCgroups(t, "cpu memory")
	cg.cgroup("tenants/carol", map[string]string{"cgroup.procs": ""})
	n, _ := testNode(t, cg)
	var out strings.Builder
	if err := n.SSHSession(testPlan(), "carol", 4242, &out); err != nil {
		t.Fatal(err)
	}
	if got := cg.read("tenants/carol/cgroup.procs"); got != "4242" {
		t.Errorf("cgroup.procs = %q", got)
	}
	if out.String() != "ssh-ed25519 AAAA carol@laptop\n" {
		t.Errorf("keys: %q", out.String())
	}
	out.Reset()
	if err := n.SSHSession(testPlan(), "bob", 4242, &out); err != nil || out.Len() != 0 {
		t.Errorf("a user who is no tenant: %v, %q", err, out.String())
	}
	os.RemoveAll(filepath.Join(cg.root, "tenants"))
	if err := n.SSHSession(testPlan(), "carol", 4242, &out); err == nil || out.Len() != 0 {
		t.Errorf("without the tenant's cgroup: %v, keys %q", err, out.String())
	}
}

// TestReport reads use against limits from the cgroup files.
func TestReport(t *testing.T) {
	cg := newFakeCgroups(t, "cpu memory pids")
	cg.cgroup("tenants/carol", map[string]string{"memory.current": "1048576\n", "memory.max": "67108864\n", "cpu.max": "50000 100000\n",
		"cpu.stat": "usage_usec 2500000\nuser_usec 2000000\n", "pids.current": "3\n", "pids.max": "max\n", "memory.events": "low 0\noom 1\noom_kill 1\n"})
	cg.cgroup("openrc.batch", map[string]string{"pids.current": "2", "pids.max": "64"})
	n, _ := testNode(t, cg)
	r := n.Report(testPlan())
	if len(r.Tenants) != 1 || len(r.Services) != 1 {
		t.Fatalf("report: %+v", r)
	}
	s := r.Tenants[0].Sessions
	want := CgroupReport{Owner: "tenant carol", Cgroup: "/tenants/carol", Running: true, MemoryBytes: 1 << 20, MemoryMax: "67108864",
		CPUSeconds: 2.5, CPUs: 0.5, Pids: ptr(uint64(3)), PidsMax: "max", OOMKills: 1}
	if s.Pids == nil || *s.Pids != 3 {
		t.Errorf("sessions' processes: %v", s.Pids)
	}
	s.Pids, want.Pids = nil, nil
	if s != want {
		t.Errorf("sessions: %+v\nwant %+v", s, want)
	}
	if h := r.Tenants[0].HomeBytes; h == nil || *h != 1<<20 {
		t.Errorf("home bytes: %v", h)
	}
	if svc := r.Tenants[0].Services; len(svc) != 1 || svc[0].Running {
		t.Errorf("hog is not running: %+v", svc)
	}
	if b := r.Services[0]; b.Owner != "service batch" || b.Pids == nil || *b.Pids != 2 || b.PidsMax != "64" {
		t.Errorf("batch: %+v", b)
	}
}

// TestSnapshotRound runs the snapshot schedule over simulated days: one
// snapshot per interval, kept by the retention rules, the newest always.
func TestSnapshotRound(t *testing.T) {
	cg := newFakeCgroups(t, "")
	n, q := testNode(t, cg)
	p := Plan{Tenants: []Tenant{{Name: "carol", Home: "/home/carol", Subvolume: true, SnapshotEverySeconds: 6 * 3600, SnapshotRetention: "2 2d"}}}
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	n.Now = func() time.Time { return now }
	next, err := n.SnapshotRound(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(6 * time.Hour); !next.Equal(want) {
		t.Errorf("next = %v, want %v", next, want)
	}
	// Not due: nothing happens.
	now = now.Add(time.Hour)
	if _, err := n.SnapshotRound(p); err != nil || len(q.snapshots) != 1 {
		t.Fatalf("a round before the interval: %v, snapshots %v", err, q.snapshots)
	}
	// Four days, a round every hour.
	for range 4 * 24 {
		now = now.Add(time.Hour)
		if _, err := n.SnapshotRound(p); err != nil {
			t.Fatal(err)
		}
	}
	var kept []string
	for _, s := range n.snapshots(p.Tenants[0]) {
		kept = append(kept, s.Taken.Format(snapshotName))
	}
	// It is 2026-03-06 02:00: 2d keeps the first of today and of
	// yesterday, 2 the two newest.
	want := []string{"20260305T010000Z", "20260305T190000Z", "20260306T010000Z"}
	if strings.Join(kept, " ") != strings.Join(want, " ") {
		t.Errorf("kept %v, want %v (taken %d, deleted %d)", kept, want, len(q.snapshots), len(q.deleted))
	}
	if len(q.snapshots) != 17 || len(q.deleted) != 14 {
		t.Errorf("taken %d, deleted %d; want 17 and 14", len(q.snapshots), len(q.deleted))
	}
}

func ptr[T any](v T) *T { return &v }
