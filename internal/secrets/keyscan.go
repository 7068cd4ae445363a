package secrets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// errGotKey ends the SSH handshake once the host key is known.
var errGotKey = errors.New("host key received")

// ScanHostKey fetches the ssh-ed25519 host key of the SSH server at addr
// (host or host:port, port 22 by default), as ssh-keyscan -t ed25519
// does: the key exchange only, no login. The key is taken on trust;
// compare its fingerprint with the node's (cairn secrets identity on the
// node, or its console) before relying on it.
func ScanHostKey(ctx context.Context, addr string) (Recipient, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "22")
	}
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Recipient{}, err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	var key ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User:              "cairn-keyscan",
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			key = k
			return errGotKey
		},
	}
	_, _, _, err = ssh.NewClientConn(conn, addr, cfg)
	if key == nil {
		if err == nil {
			err = errors.New("no host key")
		}
		return Recipient{}, fmt.Errorf("%s offers no ssh-ed25519 host key: %w", addr, err)
	}
	return ParseRecipient(string(ssh.MarshalAuthorizedKey(key)))
}
