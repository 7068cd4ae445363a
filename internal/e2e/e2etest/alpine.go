package e2etest

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// AlpineRepo is what real Alpine test systems are built from: the 100
// Alpine-signed packages of the Alpine 3.19.1 standard ISO (the
// fixtures), and a local repository with Debian's cloud kernel packaged
// as linux-virt, signed by a test key.
type AlpineRepo struct {
	// ISO is the fixtures' ISO repository.
	ISO string
	// Local holds linux-virt; Local.Keys holds its key and Alpine's.
	Local Repo
	// Extra are more repositories (WithRepo).
	Extra []Repo
}

// WithRepo returns r with the repository x beside its own.
func (r AlpineRepo) WithRepo(x Repo) AlpineRepo {
	r.Extra = append(slices.Clip(r.Extra), x)
	return r
}

// OtherKernel is another build of Debian's cloud kernel than linux-virt's,
// packaged as linux-lts (/boot/vmlinuz-lts): a generation that runs
// another kernel.
type OtherKernel struct {
	Repo Repo
	// Release is its uname -r.
	Release string
}

// MakeOtherKernelRepo makes a repository with OtherKernel's linux-lts,
// signed with a key of its own name (e2e-lts.rsa.pub).
func MakeOtherKernelRepo(t testing.TB, cairn string) OtherKernel {
	t.Helper()
	b := newRepoBuilderKey(t, cairn, "e2e-lts")
	k := debtest.OtherCloudKernel(t)
	b.kernelPackage(k, "lts", "6.1.0-r0", AlpineKernelModules)
	return OtherKernel{Repo: b.index(), Release: k.Version}
}

// AlpineKernelModules are the kernel modules of the real Alpine test
// systems: KernelModules, and the network card (virtio_net), veth (a
// tenant's network namespace) and the EFI system partition's file system
// (vfat, its code pages).
var AlpineKernelModules = append(append([]string(nil), KernelModules...),
	"kernel/drivers/net/virtio_net.ko", "kernel/drivers/net/net_failover.ko", "kernel/net/core/failover.ko", "kernel/drivers/net/veth.ko",
	"kernel/fs/fat", "kernel/fs/nls/nls_cp437.ko", "kernel/fs/nls/nls_ascii.ko", "kernel/fs/nls/nls_utf8.ko", "kernel/fs/nls/nls_iso8859-1.ko")

// MakeAlpineRepo makes the local repository with the cairn binary at
// cairn.
func MakeAlpineRepo(t testing.TB, cairn string) AlpineRepo {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.alpine != nil && shared.cairn == cairn {
		return *shared.alpine
	}
	b := newRepoBuilder(t, cairn)
	b.kernel(AlpineKernelModules)
	r := AlpineRepo{ISO: filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "iso"), Local: b.index()}
	if shared.dir != "" && shared.cairn == cairn {
		shared.alpine = &r
	}
	return r
}

// AlpineSystem is a real Alpine 3.19 system as an operator would declare
// it: alpine-base, OpenSSH, chrony and doas from the ISO's packages, the
// runlevels Alpine's setup-alpine gives, DHCP on eth0, and a user alice
// (wheel, doas without a password) who logs in with Key.
type AlpineSystem struct {
	// Description is the generation's description.
	Description string
	// Packages are added to the world.
	Packages []string
	// Motd is /etc/motd.
	Motd string
	// Key is alice's SSH public key (authorized_keys line).
	Key string
	// Kernel is the kernel package; linux-virt when empty.
	Kernel string
	// Health are more health checks, name -> command.
	Health map[string]string
	// Persist are the manifest's persistent directories.
	Persist []string
	// Files are more files.inline entries.
	Files []File
	// Default are more services of the default runlevel; Define is YAML
	// of services.define's entries, Users of more users entries (both
	// written unindented); Extra is YAML of more top-level keys.
	Default []string
	Define  string
	Users   string
	Extra   string
}

// indent indents every line of yaml by n spaces.
func indent(yaml string, n int) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(yaml, "\n"), "\n") {
		b.WriteString(pad + l + "\n")
	}
	return b.String()
}

// File is a file of the manifest's files.inline.
type File struct {
	Path, Mode, Content string
	// State is managed or seed, for a file under a persistent path.
	State string
}

// Manifest writes the manifest of s into dir (system.yaml) and returns
// its path.
func (r AlpineRepo) Manifest(t testing.TB, dir string, s AlpineSystem) string {
	t.Helper()
	users, define := "", ""
	if s.Users != "" {
		users = indent(s.Users, 2)
	}
	if s.Define != "" {
		define = "  define:\n" + indent(s.Define, 4)
	}
	repos, keys := fmt.Sprintf("{url: %s}, {url: %s}", r.ISO, r.Local.Dir), r.Local.Keys
	for _, x := range r.Extra {
		repos += fmt.Sprintf(", {url: %s}", x.Dir)
		keys += ", " + x.Keys
	}
	kernel := cmp.Or(s.Kernel, "linux-virt")
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: cairn/v1
kind: System
name: alpine
description: %q
alpine:
  arch: x86_64
  repositories: [%s]
  keys: [%s]
packages: [%s]
kernel:
  package: %s
  # no_timer_check: under qemu without KVM on a busy host the kernel's
  # IO-APIC timer check can fail and panic the boot.
  cmdline: [console=ttyS0, no_timer_check]
hostname: alpine
timezone: UTC
users:
  - name: alice
    groups: [wheel]
    sshAuthorizedKeys: [%q]
%snetwork:
  ifaces:
    - name: eth0
      dhcp: true
services:
  sysinit: [devfs, dmesg, mdev, hwdrivers]
  boot: [modules, sysctl, hostname, bootmisc, syslog, networking]
  default: [%s]
  shutdown: [mount-ro, killprocs, savecache]
%shealth:
  - name: sshd
    command: rc-service sshd status
`, s.Description, repos, keys, strings.Join(append([]string{"alpine-base", "openssh", "chrony", "doas", "tzdata"}, s.Packages...), ", "), kernel, s.Key,
		users, strings.Join(append([]string{"sshd", "chronyd"}, s.Default...), ", "), define)
	for name, cmd := range s.Health {
		fmt.Fprintf(&b, "  - name: %s\n    command: %q\n    timeout: 10s\n", name, cmd)
	}
	if len(s.Persist) > 0 {
		fmt.Fprintf(&b, "persist: [%s]\n", strings.Join(s.Persist, ", "))
	}
	fmt.Fprintf(&b, `files:
  inline:
    - path: /etc/doas.d/wheel.conf
      content: "permit nopass :wheel\n"
    - path: /etc/motd
      content: %q
`, s.Motd+"\n")
	for _, f := range s.Files {
		fmt.Fprintf(&b, "    - path: %s\n      content: %q\n", f.Path, f.Content)
		if f.Mode != "" {
			fmt.Fprintf(&b, "      mode: %q\n", f.Mode)
		}
		if f.State != "" {
			fmt.Fprintf(&b, "      state: %s\n", f.State)
		}
	}
	b.WriteString(s.Extra)
	p := filepath.Join(dir, "system.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// SSHKey makes an ed25519 key pair: the signer for the client and the
// authorized_keys line.
func SSHKey(t testing.TB) (ssh.Signer, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " e2e@cairn"
}

// SSH runs cmd as user on the machine whose sshd is forwarded to addr
// (host:port) and returns its combined output and exit error. The host
// key is not checked: the machine is the test's own.
func SSH(addr string, user string, key ssh.Signer, cmd string) (string, error) {
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         30 * time.Second,
	}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return "", fmt.Errorf("ssh %s@%s: %w", user, addr, err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// MustSSH is SSH failing the test when the command fails.
func MustSSH(t testing.TB, addr string, user string, key ssh.Signer, cmd string) string {
	t.Helper()
	out, err := SSH(addr, user, key, cmd)
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", cmd, err, out)
	}
	return out
}

// KnownOpenRCException is the one OpenRC failure a real Alpine system
// shows on Debian's cloud kernel: busybox mdev's init script writes
// /proc/sys/kernel/hotplug, which a kernel without CONFIG_UEVENT_HELPER
// does not have (Alpine's own kernels do).
const KnownOpenRCException = "/proc/sys/kernel/hotplug"

var openRCFailure = regexp.MustCompile(`\[ !! \]|ERROR:|FAIL`)

// OpenRCProblems lists the console lines that report a failure during
// OpenRC's start, except the known one: a failure marker ("[ !! ]",
// "ERROR:", a failed health check) on a line that, with the line before
// it, does not name KnownOpenRCException.
func OpenRCProblems(lines []string) []string {
	var out []string
	for i, l := range lines {
		if !openRCFailure.MatchString(l) {
			continue
		}
		ctx := l
		if i > 0 {
			ctx = lines[i-1] + "\n" + l
		}
		if strings.Contains(ctx, KnownOpenRCException) {
			continue
		}
		out = append(out, ctx)
	}
	return out
}

// OpenRCStarted lists the services OpenRC reports started "[ ok ]" on
// the console ("Starting sshd ... [ ok ]" gives "sshd").
func OpenRCStarted(lines []string) []string {
	re := regexp.MustCompile(`\* Starting (.+?) \.\.\..*\[ ok \]`)
	var out []string
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}
