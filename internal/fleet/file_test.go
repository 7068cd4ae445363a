package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	for _, c := range []struct {
		name, text, err string
	}{
		{"good", "apiVersion: cairn/v1\nkind: Fleet\nfleetlock: http://lock:8471\nnodes:\n  - name: web1\n    address: ssh://root@web1\n    group: web\n  - name: db1\n    address: ssh://db1:2222/run/cairn/store\n", ""},
		{"unknown key", "apiVersion: cairn/v1\nkind: Fleet\nnodes:\n  - name: a\n    address: ssh://a\n    adress: x\n", "field adress not found"},
		{"kind", "apiVersion: cairn/v1\nkind: System\nnodes:\n  - name: a\n    address: ssh://a\n", "kind: Fleet are needed"},
		{"no nodes", "apiVersion: cairn/v1\nkind: Fleet\n", "at least one node"},
		{"twice", "apiVersion: cairn/v1\nkind: Fleet\nnodes:\n  - name: a\n    address: ssh://a\n  - name: a\n    address: ssh://b\n", "nodes[1].name: a is named twice"},
		{"address", "apiVersion: cairn/v1\nkind: Fleet\nnodes:\n  - name: a\n    address: a.example\n", `nodes[0] (a).address: "a.example" is not an ssh://`},
		{"name", "apiVersion: cairn/v1\nkind: Fleet\nnodes:\n  - name: a b\n    address: ssh://a\n", `nodes[0].name: "a b" is not a node name`},
	} {
		p := filepath.Join(t.TempDir(), "fleet.yaml")
		os.WriteFile(p, []byte(c.text), 0o644)
		f, err := Load(p)
		if c.err == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if f.Nodes[0].Group != "web" || f.Nodes[1].Group != "default" || f.Nodes[1].LockID != "db1" || f.FleetLock != "http://lock:8471" {
				t.Errorf("%s: %+v", c.name, f)
			}
			if n := f.SSHNodes(nil, nil); n[1].Addr.Port != 2222 || n[1].Addr.Store != "/run/cairn/store" {
				t.Errorf("%s: nodes %+v", c.name, n[1])
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}

// TestRolloutSpec: the rollout section's checks (every problem named),
// defaults, order by node and group, and reboot windows.
func TestRolloutSpec(t *testing.T) {
	head := "apiVersion: cairn/v1\nkind: Fleet\nnodes:\n  - {name: a, address: ssh://a, groups: [canary]}\n  - {name: b, address: ssh://b}\n  - {name: c, address: ssh://c}\n"
	for _, c := range []struct{ name, text, err string }{
		{"order node", "rollout: {order: [d]}", `rollout.order[0]: no node is named "d"`},
		{"order group", "rollout: {order: [group:web]}", `rollout.order[0]: no node is in group "web"`},
		{"timeout", "rollout: {trialTimeout: soon}", `rollout.trialTimeout: "soon" is not a duration`},
		{"policy", "rollout: {onFailure: continue}", `rollout.onFailure: "continue" is not a policy`},
		{"check", "rollout: {checks: [{name: x, url: http://h, tcp: 'h:1'}]}", "give either url"},
		{"check url", "rollout: {checks: [{name: x, url: 'ftp://{host}/'}]}", "is not an http:// or https:// URL"},
		{"window", "rollout: {windows: [{start: '2:00', end: '05:00'}]}", `start: "2:00" is not a time of day`},
		{"window day", "rollout: {windows: [{days: [monday], start: '02:00', end: '05:00'}]}", `"monday" is not a day`},
	} {
		p := filepath.Join(t.TempDir(), "fleet.yaml")
		os.WriteFile(p, []byte(head+c.text+"\n"), 0o644)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(p, []byte(head+"rollout:\n  order: [c, group:canary]\n  batchSize: 2\n  windows: [{days: [sat], start: '23:00', end: '02:00'}, {days: [tue], start: '02:00', end: '04:30'}]\n"), 0o644)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, n := range f.Sequence() {
		order = append(order, n.Name)
	}
	if strings.Join(order, " ") != "c a b" || f.Rollout.MaxUnavailable != 2 || f.Rollout.OnFailure != OnFailureHalt || f.Rollout.TrialTimeoutDuration() != 10*time.Minute || f.Rollout.Reboot[0] != "reboot" {
		t.Errorf("order %v, rollout %+v", order, f.Rollout)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse("Mon 2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct{ now, next string }{
		{"Sat 2026-12-05 23:30", "Sat 2026-12-05 23:30"}, // open
		{"Sun 2026-12-06 01:59", "Sun 2026-12-06 01:59"}, // Saturday's window, past midnight
		{"Sun 2026-12-06 02:00", "Tue 2026-12-08 02:00"},
		{"Tue 2026-12-08 04:30", "Sat 2026-12-12 23:00"},
		{"Wed 2026-12-09 12:00", "Sat 2026-12-12 23:00"},
	} {
		if got := f.Rollout.NextReboot(at(c.now)); !got.Equal(at(c.next)) {
			t.Errorf("next reboot after %s: %s, want %s", c.now, got.Format("Mon 2006-01-02 15:04"), c.next)
		}
	}
}
