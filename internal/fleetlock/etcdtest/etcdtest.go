// Package etcdtest runs Debian's etcd server on local ports for tests,
// and can kill and restart it on the same data.
package etcdtest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

// Etcd is a one-member etcd cluster on 127.0.0.1.
type Etcd struct {
	t         testing.TB
	bin, data string
	client    int
	peer      int
	cmd       *exec.Cmd
	exited    chan struct{}
}

// Start runs etcd (installing Debian's etcd-server when missing) with its
// data in a temporary directory; it is stopped when the test ends.
func Start(t testing.TB) *Etcd {
	t.Helper()
	e := &Etcd{t: t, bin: debtest.Tool(t, "etcd", "etcd-server"), data: t.TempDir(), client: freePort(t), peer: freePort(t)}
	t.Cleanup(func() { e.Kill() })
	e.Restart()
	return e
}

// Endpoint is the client URL.
func (e *Etcd) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", e.client) }

// Kill stops etcd at once (SIGKILL), as a crash would.
func (e *Etcd) Kill() {
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Kill()
	<-e.exited
	e.cmd = nil
}

// Restart starts etcd on its data and ports, and returns when it serves
// clients.
func (e *Etcd) Restart() {
	e.t.Helper()
	peer := fmt.Sprintf("http://127.0.0.1:%d", e.peer)
	e.cmd = exec.Command(e.bin, "--name", "test", "--data-dir", e.data,
		"--listen-client-urls", e.Endpoint(), "--advertise-client-urls", e.Endpoint(),
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "test="+peer, "--logger", "zap")
	stderr, err := e.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan struct{})
	cmd := e.cmd
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var said []string
	for sc.Scan() {
		said = append(said, sc.Text())
		if strings.Contains(sc.Text(), "serving client traffic") {
			go func() {
				for sc.Scan() {
				}
				cmd.Wait()
				close(e.exited)
			}()
			return
		}
	}
	cmd.Wait()
	close(e.exited)
	e.cmd = nil
	e.t.Fatalf("etcd did not start:\n%s", strings.Join(said[max(0, len(said)-20):], "\n"))
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
