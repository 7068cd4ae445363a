//go:build linux

package image

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlinux/cairn/internal/image/imagetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// The container tests check the OCI image with the tools the issue names:
// skopeo reads the layout, podman runs it. Neither is a dependency of
// cairn; in CI the tests install them (Debian packages) when missing.

var installContainerTools sync.Once

func requireContainerTools(t *testing.T) (skopeo, podman string) {
	t.Helper()
	requireRoot(t)
	_, errS := exec.LookPath("skopeo")
	_, errP := exec.LookPath("podman")
	_, errR := exec.LookPath("runc")
	if (errS != nil || errP != nil || errR != nil) && testutil.InCI() {
		installContainerTools.Do(func() {
			cmd := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", "skopeo", "podman", "runc")
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("apt-get install skopeo podman runc: %v\n%s", err, out)
			}
		})
	}
	skopeo, errS = exec.LookPath("skopeo")
	podman, errP = exec.LookPath("podman")
	testutil.Require(t, errS == nil && errP == nil, "skopeo and podman (apt-get install skopeo podman)")
	return skopeo, podman
}

// busyboxTree is a tiny Alpine-flavoured root: Debian's static busybox
// as /bin/busybox with sh, cat and stat pointing at it, and the files of
// the real alpine-release package.
func busyboxTree(t *testing.T) *treeBuilder {
	t.Helper()
	busybox, err := os.ReadFile("/bin/busybox")
	testutil.Require(t, err == nil, "a static /bin/busybox (apt-get install busybox-static)")
	b := newTree(t)
	b.file("bin/busybox", busybox, 0o755)
	for _, applet := range []string{"sh", "cat", "stat", "true"} {
		b.symlink("busybox", "bin/"+applet)
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "root", "var"} {
		b.dir(d, 0o755)
	}
	b.dir("tmp", 0o1777)
	apk := filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "packages", "alpine-release-3.19.1-r0.apk")
	b.check(imagetest.ExtractAPK(apk, b.root))
	return b
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), &cmdError{args: append([]string{name}, args...), err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type cmdError struct {
	args   []string
	err    error
	stderr string
}

func (e *cmdError) Error() string {
	return strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

func TestOCIWithSkopeo(t *testing.T) {
	skopeo, _ := requireContainerTools(t)
	b := busyboxTree(t)
	base := t.TempDir()
	dir := filepath.Join(base, "image")
	res := writeOCI(t, OCI{}, b.root, dir)
	archive := filepath.Join(base, "image.tar")
	writeOCI(t, OCI{Tag: "v1"}, b.root, archive)
	for _, ref := range []string{"oci:" + dir + ":latest", "oci-archive:" + archive + ":v1"} {
		out, err := run(t, skopeo, "inspect", ref)
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Digest       string
			Architecture string
			Os           string
			Layers       []string
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, out)
		}
		if info.Digest != res.Digest || info.Architecture != "amd64" || info.Os != "linux" || len(info.Layers) != 1 {
			t.Errorf("skopeo inspect %s: %+v; want digest %s, linux/amd64, one layer", ref, info, res.Digest)
		}
	}
	// skopeo's own check of every blob: a copy verifies digests.
	if _, err := run(t, skopeo, "copy", "oci:"+dir+":latest", "dir:"+filepath.Join(base, "copy")); err != nil {
		t.Fatal(err)
	}
}

// podmanCmd runs podman on storage of its own under dir (vfs: no
// mounts), without networking, journald or systemd, so a test neither
// sees nor changes the machine's images and leaves nothing behind.
//
// Two settings make podman work on machines like the project's VM, and
// the probe image gets them too: runc as the runtime when it is there
// (crun refuses a hybrid cgroup v1 + v2 layout), and explicit limits on
// open files and processes (podman's defaults raise them to 1048576,
// which a root without CAP_SYS_RESOURCE may not).
type podmanCmd struct {
	bin     string
	dir     string
	runtime []string
}

func newPodman(t *testing.T, bin string) *podmanCmd {
	p := &podmanCmd{bin: bin, dir: t.TempDir()}
	if runc, err := exec.LookPath("runc"); err == nil {
		p.runtime = []string{"--runtime", runc}
	}
	// conmon starts `podman container cleanup` when a container exits,
	// and that may outlive the podman command that started it: wait for
	// every process working on this storage before it is removed (this
	// cleanup runs before t.TempDir's).
	t.Cleanup(func() { testutil.WaitForProcessesUsing(t, p.dir) })
	return p
}

// containerRun is the start of every `podman run` of the tests.
var containerRun = []string{"run", "--rm", "--network", "none", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"}

func (p *podmanCmd) runImage(t *testing.T, stdin, image string, args ...string) (string, error) {
	t.Helper()
	full := append(append([]string{}, containerRun...), image)
	if stdin != "" {
		full = append(full[:1], append([]string{"-i"}, full[1:]...)...)
	}
	return p.run(t, stdin, append(full, args...)...)
}

func (p *podmanCmd) run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	full := append(append([]string{}, p.runtime...),
		"--root", filepath.Join(p.dir, "storage"),
		"--runroot", filepath.Join(p.dir, "run"),
		"--tmpdir", filepath.Join(p.dir, "tmp"),
		"--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs",
		"--events-backend", "none")
	full = append(full, args...)
	cmd := exec.Command(p.bin, full...)
	cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(p.dir, "tmp"))
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := os.MkdirAll(filepath.Join(p.dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), &cmdError{args: append([]string{"podman"}, full...), err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// probePodman decides whether podman can run containers here at all: it
// runs an image made without cairn's code (GNU tar of a busybox tree,
// `podman import`). If that fails, a failure of cairn's image says
// nothing about cairn. The result is the reason podman cannot run
// containers, or "".
func probePodman(t *testing.T, p *podmanCmd, tree string) string {
	t.Helper()
	probeTar := filepath.Join(t.TempDir(), "probe.tar")
	if _, err := run(t, "tar", "--numeric-owner", "-C", tree, "-cf", probeTar, "."); err != nil {
		t.Fatal(err)
	}
	if _, err := p.run(t, "", "import", "--quiet", probeTar, "localhost/cairn-probe:latest"); err != nil {
		return "podman import of a plain tarball failed: " + err.Error()
	}
	if _, err := p.runImage(t, "", "localhost/cairn-probe:latest", "/bin/busybox", "true"); err != nil {
		return "podman run of an image made by podman import failed: " + err.Error()
	}
	return ""
}

func TestOCIRunsInPodman(t *testing.T) {
	_, bin := requireContainerTools(t)
	requireCommand(t, "tar")
	b := busyboxTree(t)
	p := newPodman(t, bin)
	if why := probePodman(t, p, b.root); why != "" {
		// Not cairn's fault: containers do not run on this machine.
		testutil.Require(t, false, "a machine where podman runs containers; the probe says:\n"+why)
	}
	// podman names an image pulled from oci:DIR after DIR and refuses
	// upper case there, which t.TempDir's names have.
	base, err := os.MkdirTemp("", "cairn-oci-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "image")
	writeOCI(t, OCI{}, b.root, dir)
	id, err := p.run(t, "", "pull", "--quiet", "oci:"+dir+":latest")
	if err != nil {
		t.Fatalf("podman pull of cairn's image (the probe image ran, so podman works here): %v", err)
	}
	id = strings.TrimSpace(id)

	out, err := p.runImage(t, "", id, "cat", "/etc/alpine-release")
	if err != nil {
		t.Fatalf("podman run of cairn's image (the probe image ran, so podman works here): %v", err)
	}
	if out != "3.19.1\n" {
		t.Errorf("cat /etc/alpine-release in the container printed %q, want \"3.19.1\\n\"", out)
	}
	// The default command is the shell, reading commands from stdin.
	out, err = p.runImage(t, "echo $0 in $(cat /etc/alpine-release)\n", id)
	if err != nil {
		t.Fatal(err)
	}
	if out != "/bin/sh in 3.19.1\n" {
		t.Errorf("the default command printed %q, want \"/bin/sh in 3.19.1\\n\"", out)
	}
	// Modes and owners survive into the container.
	out, err = p.runImage(t, "", id, "stat", "-c", "%a %u:%g %n", "/tmp", "/bin/busybox", "/etc/alpine-release")
	if err != nil {
		t.Fatal(err)
	}
	if want := "1777 0:0 /tmp\n755 0:0 /bin/busybox\n644 0:0 /etc/alpine-release\n"; out != want {
		t.Errorf("stat in the container:\n%s\nwant\n%s", out, want)
	}
}
