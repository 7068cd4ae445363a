package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/fleetlock"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// TestRealAlpineRollout is a rollout end to end on the real Alpine
// system under qemu, as an operator runs it from a build host: the node
// boots generation 1 from a disk image (trusting the operator's
// delivery key through its manifest's files); the build host builds
// generation 2 (a package more, another motd) in its own store; `cairn
// rollout -f fleet.yaml --json` delivers it over the operator's ssh,
// has the node take its reboot slot from a FleetLock server on the host
// (the node's own cairn, from the node's network), switch to it as a
// trial and reboot; the node's own health checks confirm it, the fleet
// file's outside check (sshd's port) passes, and the slot is given back.
// The command exits 0 with the rollout's record; the node runs
// generation 2 as its default, and no slot is held.
func TestRealAlpineRollout(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	sshBin := debtest.Tool(t, "ssh", "openssh-client")
	work := t.TempDir()

	// The operator's ssh key (a file, as ssh wants it) and delivery key.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshKey := filepath.Join(work, "id_ed25519")
	if err := os.WriteFile(sshKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	fleetKey := filepath.Join(work, "fleet.key")
	e2etest.Run(t, cairn, "key", "generate", fleetKey)
	fleetPub, err := os.ReadFile(fleetKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	manifest := func(name, motd string, pkgs ...string) string {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return r.Manifest(t, dir, e2etest.AlpineSystem{Description: name, Motd: motd, Key: authorized, Packages: pkgs,
			Files: []e2etest.File{{Path: "/etc/cairn/trusted-keys/fleet.pub", Content: string(fleetPub)}}})
	}
	img := filepath.Join(work, "disk.img")
	e2etest.Run(t, cairn, "image", "-f", manifest("g1", "generation one"), "--format", "disk", "--firmware", "bios", "--size", "1536M", "-o", img)
	builder := storetest.Plain("").Dir(t)
	if _, err := store.Init(builder, store.InitOptions{Backend: store.BackendPlain}); err != nil {
		t.Fatal(err)
	}
	e2etest.Run(t, cairn, "build", "-f", manifest("g2", "generation two", "e2fsprogs"), "--store", builder)

	// FleetLock in memory on the host; the node reaches the host as
	// qemu's 10.0.2.2.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lockSrv := &http.Server{Handler: (&fleetlock.Server{Backend: &fleetlock.Memory{}, Groups: map[string]uint64{"default": 1}}).Handler()}
	go lockSrv.Serve(ln)
	t.Cleanup(func() { lockSrv.Close() })
	lockPort := ln.Addr().(*net.TCPAddr).Port

	// The node. Its reboot is a power cycle: qemu stops when the guest
	// reboots (-no-reboot) and is started again on the same disk with
	// the same forwarded port. (qemu's own reset of this machine under
	// TCG did not come back within minutes on a loaded host.)
	cfg := vm.Config{QEMU: vmtest.QEMU(t), MemoryMiB: 512, Disks: []vm.Disk{{Path: img}}, NoReboot: true, Forwards: []vm.Forward{{GuestPort: 22}}}
	start := time.Now()
	v := vmtest.Start(t, cfg)
	if _, err := v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
		t.Fatalf("no login prompt on the serial console: %v", err)
	}
	t.Logf("qemu start to the login prompt: %.1f s", time.Since(start).Seconds())
	addr := v.Forwards()[0].Host()
	cfg.Forwards[0].HostPort = v.Forwards()[0].HostPort
	_, port, _ := net.SplitHostPort(addr)
	var (
		powerMu sync.Mutex
		stopped bool
		second  *vm.VM
	)
	t.Cleanup(func() {
		powerMu.Lock()
		defer powerMu.Unlock()
		stopped = true
		if second != nil {
			second.Close()
		}
	})
	go func() {
		v.Wait(30 * time.Minute)
		powerMu.Lock()
		defer powerMu.Unlock()
		if stopped {
			return
		}
		v2, err := vm.Start(context.Background(), cfg)
		if err != nil {
			t.Errorf("qemu after the reboot: %v", err)
			return
		}
		second = v2
	}()
	node := func() *vm.VM {
		powerMu.Lock()
		defer powerMu.Unlock()
		return second
	}

	fleetFile := filepath.Join(work, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(fmt.Sprintf(`apiVersion: cairn/v1
kind: Fleet
fleetlock: http://10.0.2.2:%d
ssh: [%s, -i, %s, -o, StrictHostKeyChecking=no, -o, UserKnownHostsFile=/dev/null, -o, LogLevel=ERROR, -o, ConnectTimeout=10, -o, ServerAliveInterval=5, -o, ServerAliveCountMax=3]
cairn: [doas, cairn]
nodes:
  - name: vm1
    address: ssh://alice@127.0.0.1:%s
rollout:
  batchSize: 1
  trialTimeout: 12m
  reboot: [doas, reboot]
  checks:
    - name: sshd
      tcp: "{host}:%s"
`, lockPort, sshBin, sshKey, port, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	out := e2etest.Run(t, cairn, "rollout", "-f", fleetFile, "--store", builder, "--key", fleetKey, "--json", "--poll", "3s")
	t.Logf("cairn rollout: %.1f s\n%s", time.Since(start).Seconds(), out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct {
		Rollout struct {
			Status string `json:"status"`
			Nodes  []struct {
				Name, Phase, Outcome string
				Generation           int
				BytesOnWire          int64
			} `json:"nodes"`
		} `json:"rollout"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("the last line of cairn rollout --json: %v", err)
	}
	if rr := last.Rollout; rr.Status != "done" || len(rr.Nodes) != 1 || rr.Nodes[0].Phase != "done" || rr.Nodes[0].Outcome != "confirmed" || rr.Nodes[0].Generation != 2 {
		t.Errorf("the rollout's record: %+v", rr)
	}
	for _, phase := range []string{`"phase":"slot taken"`, `"phase":"rebooting"`, `"phase":"checks"`, `"phase":"confirmed"`} {
		if !strings.Contains(out, phase) {
			t.Errorf("no %s step in the progress", phase)
		}
	}
	v2 := node()
	if v2 == nil {
		t.Fatalf("the node did not reboot")
	}
	console := strings.Join(v2.Lines(), "\n")
	for _, want := range []string{"cairn-init: choosing generation 2 on trial", "generation 2 is confirmed"} {
		if !strings.Contains(console, want) {
			t.Errorf("no %q on the console", want)
		}
	}
	key, _ := ssh.NewSignerFromKey(priv)
	if got := e2etest.MustSSH(t, addr, "alice", key, "cat /etc/motd"); got != "generation two\n" {
		t.Errorf("motd after the rollout: %q", got)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(e2etest.MustSSH(t, addr, "alice", key, "doas cairn status --json")), &st); err != nil || st["booted"] != 2.0 || st["default"] != 2.0 {
		t.Errorf("cairn status on the node: %v %v", st, err)
	}
	groups, err := fleetlock.Groups(t.Context(), nil, fmt.Sprintf("http://127.0.0.1:%d", lockPort))
	if err != nil || len(groups) != 1 || len(groups[0].Holders) != 0 {
		t.Errorf("reboot slots held after the rollout: %+v %v", groups, err)
	}
	e2etest.SSH(addr, "alice", key, "doas poweroff")
	if err := v2.Wait(3 * time.Minute); err != nil {
		t.Errorf("poweroff: %v", err)
	}
}
