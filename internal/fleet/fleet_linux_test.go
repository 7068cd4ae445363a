package fleet

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/fleetlock"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/remote/sshtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

var update = flag.Bool("update", false, "write the status page's screenshot to docs/fleet-status.png")

// nodeStore makes a node's store with n generations and the given state.
func nodeStore(t *testing.T, n int, st store.State) string {
	t.Helper()
	dir := storetest.Plain("").Dir(t)
	s, err := store.Init(dir, store.InitOptions{Backend: store.BackendPlain})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	for i := 1; i <= n; i++ {
		storetest.Build(t, s, storetest.Tree{"etc/hostname": "gen\n", "etc/version": strconv.Itoa(i)}, store.Meta{Description: "web, build " + strconv.Itoa(i)})
	}
	if err := s.SetState(st); err != nil {
		t.Fatal(err)
	}
	return s.Dir()
}

// testFleet: three nodes reached through a real sshd running the real
// cairn (two stores on this machine, one address where nothing
// listens), and a FleetLock server in which web1 holds a slot.
func testFleet(t *testing.T) (*File, []Node, string) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (sshd, sealed generations)")
	srv := sshtest.Start(t)
	bin := filepath.Join(t.TempDir(), "cairn")
	e2etest.GoBuild(t, "./cmd/cairn", bin)
	web1 := nodeStore(t, 3, store.State{Default: 3, Booted: 3, LastGood: 3, Good: []int{2, 3}, LastTrial: store.TrialOutcome{Generation: 3, Outcome: store.TrialConfirmed}})
	web2 := nodeStore(t, 3, store.State{Default: 2, Booted: 2, LastGood: 2, Good: []int{2}, LastTrial: store.TrialOutcome{Generation: 3, Outcome: store.TrialFellBack}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there any more: the node is down

	locks := httptest.NewServer((&fleetlock.Server{Backend: &fleetlock.Memory{}, Groups: map[string]uint64{"web": 1, "db": 1}}).Handler())
	t.Cleanup(locks.Close)
	if err := (&fleetlock.Client{URL: locks.URL, ID: "web1", Group: "web"}).Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	file := &File{APIVersion: "cairn/v1", Kind: "Fleet", FleetLock: locks.URL, SSH: srv.SSH, Cairn: []string{bin}, Nodes: []NodeSpec{
		{Name: "web1", Address: srv.Address(web1).String(), Group: "web"},
		{Name: "web2", Address: srv.Address(web2).String(), Group: "web"},
		{Name: "db1", Address: "ssh://root@127.0.0.1:" + itoa(closed) + "/run/cairn/store", Group: "db"},
	}}
	if err := file.check(); err != nil {
		t.Fatal(err)
	}
	var nodes []Node
	for _, n := range file.SSHNodes(nil, nil) {
		nodes = append(nodes, n)
	}
	return file, nodes, bin
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestStatus reads a fleet over ssh: every node's generations and last
// trial, the reboot slots, and an unreachable node said to be so.
func TestStatus(t *testing.T) {
	file, nodes, _ := testFleet(t)
	rep := Collect(context.Background(), nodes, file.Nodes, file.FleetLock, 20*time.Second)
	var buf bytes.Buffer
	rep.WriteText(&buf)
	t.Logf("\n%s", buf.String())
	w1, w2, db := rep.Nodes[0], rep.Nodes[1], rep.Nodes[2]
	if !w1.Reachable || w1.Booted != 3 || w1.Default != 3 || w1.Newest != 3 || w1.TrialText() != "3 confirmed" || w1.LockText() != "holds web" {
		t.Errorf("web1: %+v", w1)
	}
	if !w2.Reachable || w2.Booted != 2 || w2.Default != 2 || w2.Newest != 3 || w2.TrialText() != "3 fell back" || w2.LockText() != "no (web)" {
		t.Errorf("web2: %+v", w2)
	}
	if db.Reachable || !strings.Contains(db.Error, "Connection refused") {
		t.Errorf("db1: %+v", db)
	}
	lines := strings.Split(buf.String(), "\n")
	for i, want := range []string{
		`^NODE +BOOTED +DEFAULT +NEWEST +LAST TRIAL +REBOOT SLOT +STATUS$`,
		`^web1 +3 +3 +3 +3 confirmed +holds web +ok$`,
		`^web2 +2 +2 +3 +3 fell back +no \(web\) +ok$`,
		`^db1 +- +- +- +- +no \(db\) +unreachable: .*Connection refused`,
	} {
		if i >= len(lines) || !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d does not match %s", i+1, want)
		}
	}
	if rep.Unreachable() != 1 {
		t.Errorf("%d unreachable", rep.Unreachable())
	}

	// A rollout's steps on web2: switch to generation 3 as a trial.
	if err := nodes[1].SwitchTrial(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	st, err := nodes[1].Status(context.Background())
	if err != nil || st.NextBoot != 3 || st.TrialText() != "3 boots next, on trial" {
		t.Errorf("web2 after SwitchTrial: %+v, %v", st, err)
	}
}

// TestStatusPage: the status page as headless Chromium shows it: every
// node, its generations, its trial and its slot, the unreachable one
// marked so; a screenshot goes to docs/ with -update.
func TestStatusPage(t *testing.T) {
	file, nodes, _ := testFleet(t)
	chromium := debtest.Tool(t, "chromium", "chromium")
	page := &Page{Collect: func(ctx context.Context) Report {
		return Collect(ctx, nodes, file.Nodes, file.FleetLock, 20*time.Second)
	}}
	srv := httptest.NewServer(page.Handler())
	t.Cleanup(srv.Close)
	browse := func(args ...string) string {
		t.Helper()
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir()}, args...)
		out, err := exec.Command(chromium, append(args, srv.URL+"/")...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return string(out)
	}
	dom := browse("--dump-dom")
	text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(dom, " ")
	text = strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"3 nodes, 1 unreachable",
		"web1 ssh://root@127.0.0.1:",
		"3 3 3 web, build 3 3 confirmed holds web ok",
		"web2 ssh://root@127.0.0.1:",
		"2 2 3 web, build 3 3 fell back no (web) ok",
		"db1 ssh://root@127.0.0.1:",
		"unreachable",
		"Connection refused",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	shot := filepath.Join(t.TempDir(), "fleet-status.png")
	browse("--screenshot="+shot, "--window-size=1400,440", "--hide-scrollbars")
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	if *update {
		if err := os.WriteFile(filepath.Join(testutil.ModuleRoot(t), "docs", "fleet-status.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Read-only: nothing but GET.
	resp, err := srv.Client().Post(srv.URL+"/", "text/plain", nil)
	if err != nil || resp.StatusCode != 405 {
		t.Errorf("POST /: %v %v", resp.Status, err)
	}
}
