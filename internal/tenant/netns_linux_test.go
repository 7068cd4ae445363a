package tenant

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/reexec"
	"github.com/cairnlinux/cairn/internal/testutil"
)

func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}

func init() {
	// A child that becomes a program in a tenant's namespace (RunIn),
	// as cairn tenants run does: args are the namespace directory, the
	// namespace, the user, then the program.
	reexec.Register("tenant-run-in", func(args []string) int {
		n := &Netns{Dir: args[0]}
		err := n.RunIn(args[1], args[2], args[3:])
		fmt.Fprintln(os.Stderr, err)
		return 1
	})
}

// requireNft finds nft, installing Debian's nftables in CI.
func requireNft(t *testing.T) string {
	t.Helper()
	nft, err := exec.LookPath("nft")
	if err != nil && testutil.InCI() {
		cmd := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", "nftables")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("apt-get install nftables: %v\n%s", err, out)
		}
		nft, err = exec.LookPath("nft")
	}
	testutil.Require(t, err == nil, "nft (apt-get install nftables)")
	return nft
}

// testNamespace makes a tenant's namespace in a temporary directory and
// removes it (and with it the veth pair) when the test ends.
func testNamespace(t *testing.T, firewall string, index int) (*Netns, Tenant) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (network namespaces, veth links)")
	n := &Netns{Dir: t.TempDir(), Nft: requireNft(t)}
	name := fmt.Sprintf("e2e%d%s", os.Getpid(), firewall)
	tn := Tenant{Name: name, Namespace: NamespaceName(name), Firewall: firewall, Index: index}
	if _, err := net.InterfaceByName(HostLink(name)); err == nil {
		t.Fatalf("the link %s exists already", HostLink(name))
	}
	t.Cleanup(func() {
		// The pair goes with the namespace, but later (the kernel frees
		// namespaces in the background): delete it now, so that the next
		// test finds its name and addresses free.
		if ifc, err := net.InterfaceByName(HostLink(name)); err == nil {
			r, err := openRtnl()
			if err == nil {
				err = r.request(unix.RTM_DELLINK, 0, ifinfo(int32(ifc.Index), 0, 0))
				r.close()
			}
			if err != nil {
				t.Errorf("delete %s: %v", HostLink(name), err)
			}
		}
		p := n.path(tn)
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			t.Errorf("unmount %s: %v", p, err)
		}
		os.Remove(p)
	})
	if err := n.Ensure(tn); err != nil {
		t.Fatal(err)
	}
	return n, tn
}

// dial reports whether a TCP connection to addr succeeds within a
// second, from the namespace nsPath ("" for the node's).
func dial(t *testing.T, nsPath, addr string) bool {
	t.Helper()
	try := func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if nsPath == "" {
		return try() == nil
	}
	f, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return inNamespace(int(f.Fd()), try) == nil
}

// listen listens on addr:0 in the namespace nsPath ("" for the node's)
// and returns the address; the listener accepts until the test ends.
func listen(t *testing.T, nsPath string, ip net.IP) string {
	t.Helper()
	var l net.Listener
	open := func() (err error) {
		l, err = net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
		return err
	}
	var err error
	if nsPath == "" {
		err = open()
	} else {
		f, ferr := os.Open(nsPath)
		if ferr != nil {
			t.Fatal(ferr)
		}
		err = inNamespace(int(f.Fd()), open)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

// TestNamespaceLink makes a tenant's namespace without a firewall: its
// link to the node carries connections both ways, making it again changes
// nothing, and a program run in it (RunIn) sees its interfaces, as the
// tenant's user.
func TestNamespaceLink(t *testing.T) {
	n, tn := testNamespace(t, "", 16000)
	node, inside, _ := NamespaceAddresses(tn.Index)
	if err := n.Ensure(tn); err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	if !n.Exists(tn) {
		t.Fatal("the namespace does not exist")
	}
	p := n.path(tn)
	if !dial(t, p, listen(t, "", node.IP)) {
		t.Error("the namespace cannot reach the node")
	}
	if !dial(t, "", listen(t, p, inside.IP)) {
		t.Error("the node cannot reach the namespace")
	}

	var out, errOut bytes.Buffer
	cmd := reexec.Command("tenant-run-in", n.Dir, tn.Namespace, "nobody", "/bin/sh", "-c", "id -u; cat /proc/net/dev")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("RunIn: %v\n%s", err, errOut.String())
	}
	lines := strings.SplitN(out.String(), "\n", 2)
	if lines[0] != "65534" || !strings.Contains(lines[1], "eth0:") || strings.Contains(lines[1], HostLink(tn.Name)) {
		t.Errorf("the program in the namespace printed:\n%s", out.String())
	}
}

// TestNamespaceFirewall loads each profile and checks what it lets
// through: default answers the namespace's own connections only,
// isolated keeps it to its loopback.
func TestNamespaceFirewall(t *testing.T) {
	for i, tc := range []struct {
		profile     string
		out, in, lo bool
	}{
		{"default", true, false, true},
		{"isolated", false, false, true},
		{"open", true, true, true},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			n, tn := testNamespace(t, tc.profile, 16001+i)
			node, inside, _ := NamespaceAddresses(tn.Index)
			p := n.path(tn)
			if got := dial(t, p, listen(t, "", node.IP)); got != tc.out {
				t.Errorf("the namespace reaches the node: %v, want %v", got, tc.out)
			}
			if got := dial(t, "", listen(t, p, inside.IP)); got != tc.in {
				t.Errorf("the node reaches the namespace: %v, want %v", got, tc.in)
			}
			if got := dial(t, p, listen(t, p, net.IPv4(127, 0, 0, 1))); got != tc.lo {
				t.Errorf("loopback inside: %v, want %v", got, tc.lo)
			}
			rules, _ := exec.Command(n.Nft, "--version").Output()
			t.Logf("%s with %s", tc.profile, strings.TrimSpace(string(rules)))
		})
	}
}

// TestNamespaceAddresses numbers the links' /30s from 10.250.0.0.
func TestNamespaceAddresses(t *testing.T) {
	for _, tc := range []struct {
		index        int
		node, tenant string
	}{{0, "10.250.0.1/30", "10.250.0.2/30"}, {1, "10.250.0.5/30", "10.250.0.6/30"}, {64, "10.250.1.1/30", "10.250.1.2/30"}} {
		node, tenant, err := NamespaceAddresses(tc.index)
		if err != nil || node.String() != tc.node || tenant.String() != tc.tenant {
			t.Errorf("%d: %v %v %v", tc.index, node, tenant, err)
		}
	}
	if _, _, err := NamespaceAddresses(1 << 14); err == nil {
		t.Error("a tenant past the range")
	}
	if l := HostLink(strings.Repeat("x", 32)); len(l) > 15 {
		t.Errorf("link name %q is longer than an interface name", l)
	}
}
