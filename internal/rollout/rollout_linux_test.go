package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/deliver"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/fleet"
	"github.com/cairnlinux/cairn/internal/fleetlock"
	"github.com/cairnlinux/cairn/internal/fleetlock/etcdtest"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/remote/sshtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// simNode is a node whose store is real and reached through a real sshd
// running the real cairn, and whose reboot is simulated: cairn-init's
// choice (store.State.Boot) and then the boot's cairn confirm --boot,
// which runs the booted generation's own health checks. Healthy is what
// those checks find.
type simNode struct {
	*fleet.SSHNode
	t       *testing.T
	store   *store.Store
	bin     string
	healthy bool
	// onReboot runs after the simulated boot; reboots counts them,
	// deliveries the deliveries.
	onReboot   func(boot int)
	mu         sync.Mutex
	reboots    int
	deliveries int
}

func (n *simNode) Deliver(ctx context.Context, p *deliver.Prepared) (fleet.Delivery, error) {
	n.mu.Lock()
	n.deliveries++
	n.mu.Unlock()
	return n.SSHNode.Deliver(ctx, p)
}

func (n *simNode) Reboot(ctx context.Context) error {
	n.mu.Lock()
	n.reboots++
	count := n.reboots
	n.mu.Unlock()
	booted, out, err := simBoot(ctx, n.store.Dir(), n.bin, n.healthy, n.t.TempDir())
	n.t.Logf("%s: boot %d, generation %d: cairn confirm --boot: %v\n%s", n.Name(), count, booted, err, out)
	if booted == 0 {
		return err
	}
	if n.onReboot != nil {
		n.onReboot(booted)
	}
	return nil
}

func (n *simNode) state() store.State {
	n.t.Helper()
	st, err := n.store.State()
	if err != nil {
		n.t.Fatal(err)
	}
	return st
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// TestRollout rolls a generation out to three nodes, one at a time, with
// the reboot slots in a real etcd (Debian's etcd-server) behind cairn's
// FleetLock server, each node taking and giving back its slot with its
// own cairn:
//
//   - web1 (a btrfs store): while it is on trial, holding the group's
//     only slot, etcd is killed; its release is refused (503) until etcd
//     restarts on its data, and then web1 still holds the slot: no lock
//     lost;
//   - web2 (plain): the rollout is interrupted while web2 reboots; run
//     again, it resumes: web1 is not touched again, web2 is not
//     delivered to or rebooted again, its outcome is read;
//   - web3 (plain): the generation's health check fails there; the trial
//     is not confirmed, the rollout brings the node back to its default,
//     halts, and records the generation as rejected; a later rollout of
//     it is refused before touching any node.
//
// At the end every slot is free.
func TestRollout(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (sshd, btrfs, sealed generations)")
	srv := sshtest.Start(t)
	bin := filepath.Join(t.TempDir(), "cairn")
	e2etest.GoBuild(t, "./cmd/cairn", bin)
	ctx := context.Background()

	// The builder: generation 1 the nodes run, generation 2 to roll
	// out, whose health check passes where NODE_HEALTHY=yes.
	keyPath := filepath.Join(t.TempDir(), "fleet.key")
	key, err := deliver.GenerateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	trusted := t.TempDir()
	if err := os.WriteFile(filepath.Join(trusted, "fleet.pub"), mustRead(t, keyPath+".pub"), 0o644); err != nil {
		t.Fatal(err)
	}
	builder := storetest.New(t, storetest.Plain(""))
	base := storetest.Tree{"etc/hostname": "web\n", "usr/bin/app": "version 1\n"}
	storetest.Build(t, builder, base, store.Meta{Description: "app 1"})
	health, _ := json.Marshal(layout.Health{Checks: []layout.HealthCheck{{Name: "app", Command: `test "$NODE_HEALTHY" = yes`, TimeoutSeconds: 1}}})
	storetest.Build(t, builder, storetest.Tree{"etc/hostname": "web\n", "usr/bin/app": "version 2\n", "etc/cairn/health.json": string(health)}, store.Meta{Description: "app 2"})
	p1, err := (&deliver.Sender{Store: builder, Key: key, Name: "builder"}).Prepare(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := (&deliver.Sender{Store: builder, Key: key, Name: "builder"}).Prepare(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}

	// FleetLock over etcd; a failed release while etcd is down
	// restarts it and reads who holds the slot.
	etcd := etcdtest.Start(t)
	backend := &fleetlock.Etcd{Endpoints: []string{etcd.Endpoint()}}
	lockSrv := (&fleetlock.Server{Backend: backend, Groups: map[string]uint64{"web": 1}, Timeout: 2 * time.Second}).Handler()
	var (
		lockMu        sync.Mutex
		etcdDown      bool
		refused       int
		heldOnRestart []string
	)
	locks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: 200}
		lockSrv.ServeHTTP(sw, r)
		lockMu.Lock()
		defer lockMu.Unlock()
		if etcdDown && r.URL.Path == fleetlock.SteadyStatePath && sw.status == http.StatusServiceUnavailable {
			refused++
			etcd.Restart()
			etcdDown = false
			sem, _, err := backend.Get(context.Background(), "web")
			if err != nil {
				t.Errorf("the semaphore after etcd's restart: %v", err)
			}
			heldOnRestart = sem.Holders
		}
	}))
	t.Cleanup(locks.Close)
	holders := func() []string {
		t.Helper()
		g, err := fleetlock.Groups(ctx, nil, locks.URL)
		if err != nil {
			t.Fatal(err)
		}
		return g[0].Holders
	}

	// Three nodes running generation 1 (delivered from the builder).
	stores := []*store.Store{
		nodeStore(t, storetest.Btrfs(t, btrfstest.Options{}, store.InitOptions{})),
		nodeStore(t, storetest.Plain("")),
		nodeStore(t, storetest.Plain("")),
	}
	file := &fleet.File{APIVersion: "cairn/v1", Kind: "Fleet", FleetLock: locks.URL, SSH: srv.SSH,
		Cairn:   []string{"env", "CAIRN_TRUSTED_KEYS=" + trusted, bin},
		Rollout: fleet.RolloutSpec{BatchSize: 1, TrialTimeout: "4s", Order: []string{"group:first", "web2"}}}
	for i, name := range []string{"web1", "web2", "web3"} {
		spec := fleet.NodeSpec{Name: name, Address: srv.Address(stores[i].Dir()).String(), Group: "web"}
		if name == "web1" {
			spec.Groups = []string{"first"}
		}
		file.Nodes = append(file.Nodes, spec)
	}
	// The file lists web3 before web2: the order puts web2 second.
	file.Nodes[1], file.Nodes[2] = file.Nodes[2], file.Nodes[1]
	if err := file.Check(); err != nil {
		t.Fatal(err)
	}
	sims := map[string]*simNode{}
	var nodes []fleet.Node
	for _, sn := range file.SSHNodes(nil, nil) {
		s := stores[map[string]int{"web1": 0, "web2": 1, "web3": 2}[sn.Name()]]
		d, err := sn.Deliver(ctx, p1)
		if err != nil {
			t.Fatal(err)
		}
		unlock, err := s.Lock(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		err = s.SetState(store.State{Default: d.Generation, Booted: d.Generation, LastGood: d.Generation, Good: []int{d.Generation}})
		unlock()
		if err != nil {
			t.Fatal(err)
		}
		n := &simNode{SSHNode: sn, t: t, store: s, bin: bin, healthy: sn.Name() != "web3"}
		sims[sn.Name()] = n
		nodes = append(nodes, n)
	}
	sims["web1"].onReboot = func(int) {
		if got := holders(); !slices.Equal(got, []string{"web1"}) {
			t.Errorf("holders while web1 reboots: %v", got)
		}
		lockMu.Lock()
		etcd.Kill()
		etcdDown = true
		lockMu.Unlock()
	}
	runCtx, interrupt := context.WithCancel(ctx)
	sims["web2"].onReboot = func(int) { interrupt() }

	journal := filepath.Join(t.TempDir(), "fleet.rollout.json")
	var events []Event
	var evMu sync.Mutex
	newRollout := func() *Rollout {
		j, err := OpenJournal(journal)
		if err != nil {
			t.Fatal(err)
		}
		return &Rollout{File: file, Nodes: nodes, Prepared: p2, Journal: j, Poll: 100 * time.Millisecond,
			Progress: func(e Event) {
				evMu.Lock()
				events = append(events, e)
				evMu.Unlock()
				t.Logf("%-5s %-11s %s", e.Node, e.Phase, e.Message)
			}}
	}

	// 1. Interrupted while web2 reboots.
	rec, err := newRollout().Run(runCtx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted rollout: %v", err)
	}
	if phases := phasesOf(rec); !slices.Equal(phases, []string{"web1 done", "web2 rebooting", "web3 pending"}) {
		t.Errorf("phases after the interruption: %v", phases)
	}
	lockMu.Lock()
	if refused == 0 || !slices.Equal(heldOnRestart, []string{"web1"}) {
		t.Errorf("etcd killed while web1 held its slot: %d releases refused; holders after the restart: %v (want [web1])", refused, heldOnRestart)
	}
	lockMu.Unlock()
	if got := holders(); !slices.Equal(got, []string{"web2"}) {
		t.Errorf("holders after the interruption: %v (web2 is on trial)", got)
	}

	// 2. Resumed: web2's outcome is read, web3 fails its trial.
	rec, err = newRollout().Run(ctx)
	var herr *HaltedError
	if !errors.As(err, &herr) || herr.Node != "web3" || !herr.Rejected {
		t.Fatalf("the resumed rollout: %v, want web3's failed trial", err)
	}
	if phases := phasesOf(rec); rec.Status != StatusHalted || !slices.Equal(phases, []string{"web1 done", "web2 done", "web3 failed"}) {
		t.Errorf("the rollout's record: %s %v", rec.Status, phases)
	}
	for name, want := range map[string][2]int{"web1": {1, 1}, "web2": {1, 1}, "web3": {1, 2}} {
		n := sims[name]
		if n.deliveries != want[0] || n.reboots != want[1] {
			t.Errorf("%s: %d deliveries, %d reboots; want %v", name, n.deliveries, n.reboots, want)
		}
	}
	for _, name := range []string{"web1", "web2"} {
		st := sims[name].state()
		if st.Default != st.Booted || st.LastTrial.Outcome != store.TrialConfirmed || st.Default != st.LastTrial.Generation || st.Default < 2 {
			t.Errorf("%s runs the new generation, confirmed: %+v", name, st)
		}
	}
	st3 := sims["web3"].state()
	if st3.Default != 1 || st3.Booted != 1 || st3.LastTrial.Outcome != store.TrialFellBack {
		t.Errorf("web3 fell back to its generation 1: %+v", st3)
	}
	j, _ := OpenJournal(journal)
	if rej, ok := j.Rejected(p2.Header().TreeDigest); !ok || rej.Node != "web3" || !strings.Contains(rej.Reason, "not confirmed") {
		t.Errorf("the rejection: %+v %v", rej, ok)
	}
	if got := holders(); len(got) != 0 {
		t.Errorf("slots still held at the end: %v", got)
	}

	// 3. The rejected generation is not offered again.
	before := sims["web3"].deliveries
	if _, err := newRollout().Run(ctx); !errors.Is(err, ErrRejected) {
		t.Errorf("rolling the rejected generation out again: %v", err)
	}
	if sims["web3"].deliveries != before {
		t.Errorf("the rejected generation was delivered again")
	}
	evMu.Lock()
	defer evMu.Unlock()
	if !slices.ContainsFunc(events, func(e Event) bool { return e.Phase == "resume" }) {
		t.Errorf("no resume in the progress")
	}
}

// nodeStore makes a node's store, not locked: the node's cairn locks it.
func nodeStore(t *testing.T, b storetest.Backend) *store.Store {
	t.Helper()
	opts := b.Options
	opts.Backend = b.Name
	s, err := store.Init(b.Dir(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func phasesOf(rec Record) []string {
	var out []string
	for _, n := range rec.Nodes {
		out = append(out, n.Name+" "+n.Phase)
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPushTrial: cairn push --trial --wait (the real cairn, through a
// real sshd) reports how a node's trial ended: a node whose checks pass
// confirms generation 2 and cairn exits 0 saying so; a node whose checks
// fail is brought back to its default and cairn exits 6, saying it fell
// back. The reboots are simulated by this test binary (TestMain).
func TestPushTrial(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (sshd, sealed generations)")
	srv := sshtest.Start(t)
	bin := filepath.Join(t.TempDir(), "cairn")
	e2etest.GoBuild(t, "./cmd/cairn", bin)
	ctx := context.Background()
	keyPath := filepath.Join(t.TempDir(), "fleet.key")
	key, err := deliver.GenerateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	trusted := t.TempDir()
	if err := os.WriteFile(filepath.Join(trusted, "fleet.pub"), mustRead(t, keyPath+".pub"), 0o644); err != nil {
		t.Fatal(err)
	}
	builder := nodeStore(t, storetest.Plain(""))
	func() {
		unlock, err := builder.Lock(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		storetest.Build(t, builder, storetest.Tree{"usr/bin/app": "version 1\n"}, store.Meta{Description: "app 1"})
		health, _ := json.Marshal(layout.Health{Checks: []layout.HealthCheck{{Name: "app", Command: `test "$NODE_HEALTHY" = yes`, TimeoutSeconds: 1}}})
		storetest.Build(t, builder, storetest.Tree{"usr/bin/app": "version 2\n", "etc/cairn/health.json": string(health)}, store.Meta{Description: "app 2"})
	}()
	p1, err := (&deliver.Sender{Store: builder, Key: key, Name: "builder"}).Prepare(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	remoteCairn := "env CAIRN_TRUSTED_KEYS=" + trusted + " " + bin
	for _, c := range []struct {
		name    string
		healthy bool
		code    int
		says    string
	}{
		{"good", true, 0, "generation 2 confirmed"},
		{"bad", false, 6, "fell back to 1"},
	} {
		s := nodeStore(t, storetest.Plain(""))
		addr := srv.Address(s.Dir())
		sn := &fleet.SSHNode{Spec: fleet.NodeSpec{Name: c.name}, Addr: addr, SSH: srv.SSH, Cairn: strings.Fields(remoteCairn)}
		d, err := sn.Deliver(ctx, p1)
		if err != nil {
			t.Fatal(err)
		}
		unlock, err := s.Lock(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		err = s.SetState(store.State{Default: d.Generation, Booted: d.Generation, LastGood: d.Generation, Good: []int{d.Generation}})
		unlock()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "push", "2", "--store", builder.Dir(), "--to", addr.String(), "--key", keyPath,
			"--ssh", strings.Join(srv.SSH, " "), "--remote-cairn", remoteCairn,
			"--trial", "--wait", "5s", "--reboot", strings.Join(simBootCommand(s.Dir(), bin, c.healthy), " "))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: cairn push --trial --wait: exit %d\n%s", c.name, code, out)
		if code != c.code || !strings.Contains(string(out), c.says) {
			t.Errorf("%s: exit %d, want %d saying %q:\n%s", c.name, code, c.code, c.says, out)
		}
		st, err := s.State()
		if err != nil {
			t.Fatal(err)
		}
		want := store.TrialOutcome{Generation: 2, Outcome: store.TrialConfirmed}
		if !c.healthy {
			want.Outcome = store.TrialFellBack
		}
		if st.LastTrial != want || st.Booted != st.Default {
			t.Errorf("%s: the node's state: %+v", c.name, st)
		}
	}
}
