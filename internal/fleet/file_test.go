package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
