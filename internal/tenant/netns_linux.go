package tenant

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Netns makes the tenants' network namespaces: a namespace bound at
// Dir/NAME (as `ip netns add` binds them), with its loopback up and a veth
// link to the node, eth0 inside, addressed from 10.250.0.0/16 (a /30 per
// tenant, by its place in the manifest: the node's end .1, the tenant's
// .2, the default route through the node), and its firewall profile
// loaded with nft.
type Netns struct {
	// Dir is where named namespaces are bound (/run/netns).
	Dir string
	// Nft is the nft program; /usr/sbin/nft when empty.
	Nft string
}

// NamespaceAddresses are the node's and the tenant's ends of the tenant
// index's link, as 10.250.0.0/16 holds them.
func NamespaceAddresses(index int) (node, tenant *net.IPNet, err error) {
	if index < 0 || index >= 1<<14 {
		return nil, nil, fmt.Errorf("tenant %d: only %d tenants fit in 10.250.0.0/16", index, 1<<14)
	}
	base := 4 * index
	mask := net.CIDRMask(30, 32)
	node = &net.IPNet{IP: net.IPv4(10, 250, byte(base>>8), byte(base&0xff+1)).To4(), Mask: mask}
	tenant = &net.IPNet{IP: net.IPv4(10, 250, byte(base>>8), byte(base&0xff+2)).To4(), Mask: mask}
	return node, tenant, nil
}

// HostLink is the name of the node's end of a tenant's veth link: "vt"
// and ten hex digits of its name's hash, within the 15 bytes of an
// interface name whatever the name's length.
func HostLink(tenant string) string {
	sum := sha256.Sum256([]byte(tenant))
	return "vt" + hex.EncodeToString(sum[:])[:10]
}

func (n *Netns) path(t Tenant) string { return filepath.Join(n.Dir, t.Namespace) }

// Exists reports whether the tenant's namespace is bound in Dir.
func (n *Netns) Exists(t Tenant) bool { return isNamespace(n.path(t)) }

func isNamespace(p string) bool {
	var st unix.Statfs_t
	return unix.Statfs(p, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// Ensure makes the tenant's namespace, its link and its firewall; what
// exists already is kept, so Ensure at every boot changes nothing the
// second time.
func (n *Netns) Ensure(t Tenant) error {
	nodeAddr, tenantAddr, err := NamespaceAddresses(t.Index)
	if err != nil {
		return err
	}
	p := n.path(t)
	if !isNamespace(p) {
		if err := newNamespace(p); err != nil {
			return err
		}
	}
	ns, err := os.Open(p)
	if err != nil {
		return err
	}
	defer ns.Close()
	link := HostLink(t.Name)
	if _, err := net.InterfaceByName(link); err != nil {
		r, err := openRtnl()
		if err != nil {
			return err
		}
		err = r.addVeth(link, "eth0", int(ns.Fd()))
		r.close()
		if err != nil {
			return fmt.Errorf("veth %s: %w", link, err)
		}
	}
	ifc, err := net.InterfaceByName(link)
	if err != nil {
		return err
	}
	r, err := openRtnl()
	if err != nil {
		return err
	}
	err = r.addAddress(ifc.Index, nodeAddr)
	if err == nil {
		err = r.up(ifc.Index)
	}
	r.close()
	if err != nil {
		return fmt.Errorf("%s: %w", link, err)
	}
	err = inNamespace(int(ns.Fd()), func() error {
		r, err := openRtnl()
		if err != nil {
			return err
		}
		defer r.close()
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return err
		}
		eth, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		for _, step := range []func() error{
			func() error { return r.up(lo.Index) },
			func() error { return r.addAddress(eth.Index, tenantAddr) },
			func() error { return r.up(eth.Index) },
			func() error { return r.addDefaultRoute(eth.Index, nodeAddr.IP) },
			func() error { return waitRunning("eth0") },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("inside: %w", err)
	}
	if err := waitRunning(link); err != nil {
		return err
	}
	if t.Firewall == "" {
		return nil
	}
	return n.firewall(int(ns.Fd()), t.Firewall)
}

// waitRunning waits (at most 5 s) until the link can carry packets: the
// kernel turns a veth's carrier on a moment after both ends are up, and
// what is sent before is dropped (a service started at once would wait a
// second for ARP's retry, longer than many connect timeouts).
func waitRunning(name string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		if ifc.Flags&net.FlagRunning != 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is up but has no carrier after 5 s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// firewall loads the profile's rules in the namespace.
func (n *Netns) firewall(nsFD int, profile string) error {
	nft := n.Nft
	if nft == "" {
		nft = "/usr/sbin/nft"
	}
	rules, err := FirewallRules(profile)
	if err != nil {
		return err
	}
	return inNamespace(nsFD, func() error {
		cmd := exec.Command(nft, "-f", "-")
		cmd.Stdin = strings.NewReader(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("firewall profile %s: nft: %w: %s", profile, err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

// newNamespace makes a network namespace and binds it at p.
func newNamespace(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if f != nil {
		f.Close()
	}
	return onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		self := "/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"
		if err := unix.Mount(self, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		return nil
	})
}

// inNamespace runs fn on a thread of its own in the network namespace
// nsFD.
func inNamespace(nsFD int, fn func() error) error {
	return onThread(func() error {
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("setns: %w", err)
		}
		return fn()
	})
}

// onThread runs fn on an OS thread locked to it for good: the thread ends
// with the goroutine, so whatever namespace fn moves it into never serves
// another goroutine.
func onThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- fn()
	}()
	return <-done
}

// RunIn replaces the running program by argv, run in the network
// namespace ns (bound in Dir) as user (NAME or NAME:GROUP, with the user's
// groups): what a service of a tenant with a namespace is started with.
// Entering the namespace needs root, so the service starts cairn as root
// and cairn drops to the tenant.
func (n *Netns) RunIn(ns, who string, argv []string) error {
	if len(argv) == 0 {
		return errors.New("no program to run")
	}
	uid, gid, groups, err := lookupUser(who)
	if err != nil {
		return err
	}
	prog, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(n.Dir, ns))
	if err != nil {
		return err
	}
	runtime.LockOSThread() // exec from the thread in the namespace
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter %s: %w", ns, err)
	}
	f.Close()
	if err := syscall.Setgroups(groups); err != nil {
		return err
	}
	if err := syscall.Setgid(gid); err != nil {
		return err
	}
	if err := syscall.Setuid(uid); err != nil {
		return err
	}
	return syscall.Exec(prog, argv, os.Environ())
}

// lookupUser finds NAME or NAME:GROUP in the system's account files.
func lookupUser(who string) (uid, gid int, groups []int, err error) {
	name, group, _ := strings.Cut(who, ":")
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, nil, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return 0, 0, nil, err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return 0, 0, nil, err
	}
	for _, id := range ids {
		if g, err := strconv.Atoi(id); err == nil {
			groups = append(groups, g)
		}
	}
	return uid, gid, groups, nil
}
