package build

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// Setup scripts run in the sandbox: the target's host name, a loopback
// interface only, unless a script declares it needs the network.
func TestSetupSandbox(t *testing.T) {
	ifs, err := net.Interfaces()
	testutil.Require(t, err == nil && len(ifs) > 1, "a network interface besides lo")
	w := newWorld(t)
	mp, sys := writeManifest(t, w.manifestText(`  - name: offline
    run: '{ hostname; ip -o link | cut -d: -f2; } > /etc/offline'
  - name: online
    network: true
    run: 'ip -o link | cut -d: -f2 | cut -d@ -f1 > /etc/online'
`))
	root := filepath.Join(t.TempDir(), "root")
	if _, log, err := w.build(t, mp, sys, root, nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := readFile(t, filepath.Join(root, "etc/offline")); got != "node1\n lo\n" {
		t.Errorf("without the network, a setup script saw %q", got)
	}
	// ip names a link with a peer as NAME@PEER; the script keeps NAME.
	got := readFile(t, filepath.Join(root, "etc/online"))
	for _, i := range ifs {
		if !strings.Contains(got, " "+i.Name+"\n") {
			t.Errorf("with the network, a setup script saw %q, not the host's %s", got, i.Name)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
