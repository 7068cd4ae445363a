// Package remote reaches a node: an ssh://[user@]host[:port][/store]
// address, and the ssh command that runs a cairn command there. ssh is
// the operator's own program (keys, agent, known hosts and jump hosts
// as ~/.ssh/config says), not a client built into cairn.
package remote

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
)

// SSH is a node reached over ssh.
type SSH struct {
	User, Host string
	// Port is 0 for ssh's default.
	Port int
	// Store is the store's directory on the node; "" for the node's
	// default (/run/cairn/store on a running cairn system).
	Store string
}

// ParseSSH reads ssh://[user@]host[:port][/store/dir].
func ParseSSH(s string) (SSH, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "ssh" || u.Host == "" || u.Opaque != "" {
		return SSH{}, fmt.Errorf("%q is not an ssh://[user@]host[:port][/store] address", s)
	}
	a := SSH{Host: u.Hostname(), Store: u.Path}
	if u.User != nil {
		a.User = u.User.Username()
		if _, ok := u.User.Password(); ok {
			return SSH{}, fmt.Errorf("%q: a password in the address is not supported (use keys)", s)
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return SSH{}, fmt.Errorf("%q: bad port %q", s, p)
		}
		a.Port = n
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return SSH{}, fmt.Errorf("%q: an ssh address has no query or fragment", s)
	}
	if strings.HasPrefix(a.Host, "-") {
		return SSH{}, fmt.Errorf("%q: a host name cannot start with '-'", s)
	}
	return a, nil
}

// String is the address as ParseSSH reads it.
func (a SSH) String() string {
	u := url.URL{Scheme: "ssh", Host: a.Host, Path: a.Store}
	if a.Port != 0 {
		u.Host += ":" + strconv.Itoa(a.Port)
	}
	if a.User != "" {
		u.User = url.User(a.User)
	}
	return u.String()
}

// Command returns the command that runs argv on the node through ssh:
// sshCmd is the ssh program and its options (["ssh"] by default); argv
// is quoted for the remote shell, which ssh hands the command line to.
func (a SSH) Command(ctx context.Context, sshCmd []string, argv []string) *exec.Cmd {
	if len(sshCmd) == 0 {
		sshCmd = []string{"ssh"}
	}
	args := append([]string(nil), sshCmd[1:]...)
	if a.Port != 0 {
		args = append(args, "-p", strconv.Itoa(a.Port))
	}
	dest := a.Host
	if a.User != "" {
		dest = a.User + "@" + dest
	}
	quoted := make([]string, len(argv))
	for i, s := range argv {
		quoted[i] = Quote(s)
	}
	args = append(args, "--", dest, strings.Join(quoted, " "))
	return exec.CommandContext(ctx, sshCmd[0], args...)
}

// Quote quotes s for a POSIX shell.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
