// Package sshtest starts Debian's OpenSSH server on a local port for
// tests that reach "nodes" the way an operator does: with ssh and a key.
package sshtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/remote"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// Server is a running sshd that lets root in with the client key.
type Server struct {
	// Port is the port on 127.0.0.1 it listens on.
	Port int
	// SSH is the client command and options that reach it: the key, no
	// host key check (the server is the test's own), no config file.
	SSH []string
}

// Address is the server as an ssh:// address for root, with store as
// its path.
func (s Server) Address(store string) remote.SSH {
	return remote.SSH{User: "root", Host: "127.0.0.1", Port: s.Port, Store: store}
}

// Start runs sshd -D on a free local port until the test ends. It needs
// root (sshd's privilege separation, and logging in as root).
func Start(t testing.TB) Server {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (sshd)")
	sshd := debtest.Tool(t, "sshd", "openssh-server")
	keygen := debtest.Tool(t, "ssh-keygen", "openssh-client")
	ssh := debtest.Tool(t, "ssh", "openssh-client")
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", k, "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	// A free port: the kernel picks one, which is given to sshd.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	config := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile %s
`, port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"))
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// sshd says when it listens; until then a client would be refused.
	sc := bufio.NewScanner(stderr)
	var said []string
	for sc.Scan() {
		said = append(said, sc.Text())
		if strings.Contains(sc.Text(), "Server listening on") {
			go func() {
				for sc.Scan() {
				}
			}()
			return Server{Port: port, SSH: []string{ssh, "-F", "/dev/null", "-i", filepath.Join(dir, "client"),
				"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"}}
		}
	}
	t.Fatalf("sshd did not start:\n%s", strings.Join(said, "\n"))
	return Server{}
}
