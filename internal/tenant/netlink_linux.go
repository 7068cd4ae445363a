package tenant

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A minimal rtnetlink client: the few requests a tenant's namespace
// needs (a veth pair, addresses, links up, a default route), each sent
// with an acknowledgement asked for. The socket belongs to the network
// namespace of the thread that opened it.

type rtnl struct {
	fd  int
	seq uint32
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &rtnl{fd: fd}, nil
}

func (r *rtnl) close() { unix.Close(r.fd) }

// attr is a netlink attribute: a type and a payload, or nested ones.
type attr struct {
	typ    uint16
	data   []byte
	nested []attr
}

func (a attr) encode() []byte {
	payload := a.data
	for _, n := range a.nested {
		payload = append(payload, n.encode()...)
	}
	b := make([]byte, 4, 4+align(len(payload)))
	binary.NativeEndian.PutUint16(b, uint16(4+len(payload)))
	binary.NativeEndian.PutUint16(b[2:], a.typ)
	b = append(b, payload...)
	return append(b, make([]byte, align(len(b))-len(b))...)
}

func align(n int) int { return (n + 3) &^ 3 }

func strAttr(typ uint16, s string) attr { return attr{typ: typ, data: append([]byte(s), 0)} }

func u32Attr(typ uint16, v uint32) attr {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return attr{typ: typ, data: b}
}

// ifinfo is struct ifinfomsg.
func ifinfo(index int32, flags, change uint32) []byte {
	m := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: index, Flags: flags, Change: change}
	return (*[unix.SizeofIfInfomsg]byte)(unsafe.Pointer(&m))[:]
}

// request sends one request and waits for its acknowledgement.
func (r *rtnl) request(typ uint16, flags uint16, header []byte, attrs ...attr) error {
	r.seq++
	body := append([]byte(nil), header...)
	for _, a := range attrs {
		body = append(body, a.encode()...)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg, uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], r.seq)
	msg = append(msg, body...)
	if err := unix.Sendto(r.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq != r.seq || m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
				return syscall.Errno(-errno)
			}
			return nil
		}
	}
}

// addVeth makes the veth pair host <-> peer, the peer in the namespace
// whose file descriptor is nsFD.
func (r *rtnl) addVeth(host, peer string, nsFD int) error {
	peerInfo := attr{typ: vethInfoPeer, data: ifinfo(0, 0, 0), nested: []attr{strAttr(unix.IFLA_IFNAME, peer), u32Attr(unix.IFLA_NET_NS_FD, uint32(nsFD))}}
	linkInfo := attr{typ: unix.IFLA_LINKINFO, nested: []attr{strAttr(unix.IFLA_INFO_KIND, "veth"), {typ: unix.IFLA_INFO_DATA, nested: []attr{peerInfo}}}}
	return r.request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifinfo(0, 0, 0), strAttr(unix.IFLA_IFNAME, host), linkInfo)
}

// up sets the link index up.
func (r *rtnl) up(index int) error {
	return r.request(unix.RTM_NEWLINK, 0, ifinfo(int32(index), unix.IFF_UP, unix.IFF_UP))
}

// addAddress gives the link index the address a; one it has already is
// fine.
func (r *rtnl) addAddress(index int, a *net.IPNet) error {
	ones, _ := a.Mask.Size()
	m := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: uint8(ones), Index: uint32(index)}
	ip := a.IP.To4()
	err := r.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, (*[unix.SizeofIfAddrmsg]byte)(unsafe.Pointer(&m))[:],
		attr{typ: unix.IFA_LOCAL, data: ip}, attr{typ: unix.IFA_ADDRESS, data: ip})
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// addDefaultRoute routes everything through gw on the link index; a
// default route there already is fine.
func (r *rtnl) addDefaultRoute(index int, gw net.IP) error {
	m := unix.RtMsg{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_BOOT, Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST}
	err := r.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, (*[unix.SizeofRtMsg]byte)(unsafe.Pointer(&m))[:],
		attr{typ: unix.RTA_GATEWAY, data: gw.To4()}, u32Attr(unix.RTA_OIF, uint32(index)))
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// vethInfoPeer is VETH_INFO_PEER of <linux/veth.h>.
const vethInfoPeer = 1
