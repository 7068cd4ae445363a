package vm

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// Forward is a port of the host forwarded to a port of the guest through
// qemu's user-mode network (slirp): a connection to HostAddr:HostPort on
// the host reaches the guest's GuestPort at its address 10.0.2.15.
type Forward struct {
	// Proto is "tcp" (the default) or "udp".
	Proto string
	// HostAddr is the host address qemu listens on: 127.0.0.1 when empty,
	// so that nothing outside the host reaches the guest unless asked.
	// qemu's user-mode network listens on IPv4 addresses only.
	HostAddr string
	// HostPort is the host's port; Start chooses a free one when 0
	// (VM.Forwards says which).
	HostPort int
	// GuestPort is the guest's port.
	GuestPort int
}

// DefaultHostAddr is where forwarded ports listen unless told otherwise.
const DefaultHostAddr = "127.0.0.1"

func (f Forward) proto() string {
	if f.Proto == "" {
		return "tcp"
	}
	return f.Proto
}

func (f Forward) hostAddr() string {
	if f.HostAddr == "" {
		return DefaultHostAddr
	}
	return f.HostAddr
}

// Host returns the host's end of the forward, host:port, as net.Dial
// takes it.
func (f Forward) Host() string {
	return net.JoinHostPort(f.hostAddr(), strconv.Itoa(f.HostPort))
}

func (f Forward) String() string {
	return fmt.Sprintf("%s %s -> guest port %d", f.proto(), f.Host(), f.GuestPort)
}

// check says what is wrong with a forward; a host port of 0 is an error
// only when zeroOK is false.
func (f Forward) check(zeroOK bool) error {
	switch f.proto() {
	case "tcp", "udp":
	default:
		return fmt.Errorf("protocol %q: use tcp or udp", f.Proto)
	}
	ip := net.ParseIP(f.hostAddr())
	if ip == nil || ip.To4() == nil {
		return fmt.Errorf("host address %q: give an IPv4 address (qemu's user-mode network listens on IPv4 only)", f.HostAddr)
	}
	if f.HostPort < 0 || f.HostPort > 65535 || (f.HostPort == 0 && !zeroOK) {
		return fmt.Errorf("host port %d: give a port from 1 to 65535", f.HostPort)
	}
	if f.GuestPort < 1 || f.GuestPort > 65535 {
		return fmt.Errorf("guest port %d: give a port from 1 to 65535", f.GuestPort)
	}
	return nil
}

// ParseForward reads a forward as `cairn vm --forward` takes it:
// [tcp:|udp:][HOSTADDR:]HOSTPORT:GUESTPORT, e.g. 2222:22 (host
// 127.0.0.1:2222 to the guest's port 22), udp:5353:53 or
// 0.0.0.0:8080:80. A host port of 0 means any free port.
func ParseForward(s string) (Forward, error) {
	var f Forward
	rest := s
	for _, p := range []string{"tcp", "udp"} {
		if r, ok := strings.CutPrefix(s, p+":"); ok {
			f.Proto, rest = p, r
		}
	}
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 2:
	case 3:
		f.HostAddr, parts = parts[0], parts[1:]
	default:
		return f, fmt.Errorf("forward %q: write it as [tcp:|udp:][HOSTADDR:]HOSTPORT:GUESTPORT, e.g. 2222:22", s)
	}
	var err error
	if f.HostPort, err = strconv.Atoi(parts[0]); err != nil {
		return f, fmt.Errorf("forward %q: host port %q is not a number", s, parts[0])
	}
	if f.GuestPort, err = strconv.Atoi(parts[1]); err != nil {
		return f, fmt.Errorf("forward %q: guest port %q is not a number", s, parts[1])
	}
	if err := f.check(true); err != nil {
		return f, fmt.Errorf("forward %q: %w", s, err)
	}
	return f, nil
}

// netArgs are qemu's arguments for the network: one virtio-net NIC on
// the user-mode network with the forwards, or nothing.
func (c Config) netArgs() ([]string, error) {
	if !c.Net && len(c.Forwards) == 0 {
		return nil, nil
	}
	netdev := "user,id=net0"
	seen := map[string]bool{}
	for _, f := range c.Forwards {
		if err := f.check(false); err != nil {
			return nil, fmt.Errorf("vm: forward %s: %w", f, err)
		}
		key := f.proto() + " " + f.Host()
		if seen[key] {
			return nil, fmt.Errorf("vm: %s %s is forwarded twice", f.proto(), f.Host())
		}
		seen[key] = true
		netdev += fmt.Sprintf(",hostfwd=%s:%s:%d-:%d", f.proto(), f.hostAddr(), f.HostPort, f.GuestPort)
	}
	return []string{"-netdev", netdev, "-device", "virtio-net-pci,netdev=net0"}, nil
}

// choosePorts returns the forwards with a free port of the host in place
// of each 0. The ports are free when chosen (and distinct: each is held
// until all are chosen); another program could take one before qemu
// listens, and qemu then fails to start, saying so.
func choosePorts(fs []Forward) ([]Forward, error) {
	out := append([]Forward{}, fs...)
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i, f := range out {
		if f.HostPort != 0 {
			continue
		}
		if err := f.check(true); err != nil {
			return nil, fmt.Errorf("vm: forward %s: %w", f, err)
		}
		addr := net.JoinHostPort(f.hostAddr(), "0")
		if f.proto() == "udp" {
			c, err := net.ListenPacket("udp4", addr)
			if err != nil {
				return nil, fmt.Errorf("vm: a free udp port on %s: %w", f.hostAddr(), err)
			}
			held = append(held, c)
			out[i].HostPort = c.LocalAddr().(*net.UDPAddr).Port
			continue
		}
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return nil, fmt.Errorf("vm: a free tcp port on %s: %w", f.hostAddr(), err)
		}
		held = append(held, l)
		out[i].HostPort = l.Addr().(*net.TCPAddr).Port
	}
	return out, nil
}
