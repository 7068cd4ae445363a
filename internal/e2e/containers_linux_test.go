package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/container"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// hostPodman runs Debian's podman with storage, networks and settings of
// its own in a temporary directory, through its configuration files only
// (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF): the command lines stay
// exactly those a node's service runs. This machine needs runc and
// limits podman may set (docs/images.md).
type hostPodman struct {
	bin string
	dir string
	env []string
}

func newHostPodman(t *testing.T) *hostPodman {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (podman with its own storage, cgroups, networks)")
	bin, err := exec.LookPath("podman")
	_, rerr := exec.LookPath("runc")
	if (err != nil || rerr != nil) && testutil.InCI() {
		cmd := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "podman", "runc", "containernetworking-plugins")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("apt-get install podman runc: %v\n%s", err, out)
		}
		bin, err = exec.LookPath("podman")
		_, rerr = exec.LookPath("runc")
	}
	testutil.Require(t, err == nil && rerr == nil, "podman and runc (apt-get install podman runc)")
	// podman names networks' bridges after their directory's files; the
	// storage path must not hold upper case (t.TempDir's do).
	dir, err := os.MkdirTemp("", "cairn-podman-")
	if err != nil {
		t.Fatal(err)
	}
	p := &hostPodman{bin: bin, dir: dir}
	conf := fmt.Sprintf(`[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
events_logger = "none"
cgroup_manager = "cgroupfs"
[network]
network_config_dir = %q
`, filepath.Join(dir, "networks"))
	storage := fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n", filepath.Join(dir, "storage"), filepath.Join(dir, "run"))
	for name, data := range map[string]string{"containers.conf": conf, "storage.conf": storage} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"networks", "tmp"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	p.env = append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"), "TMPDIR="+filepath.Join(dir, "tmp"))
	t.Cleanup(func() {
		// conmon's cleanup may outlive podman: wait for every process
		// working on this storage before removing it.
		testutil.WaitForProcessesUsing(t, dir)
		os.RemoveAll(dir)
	})
	return p
}

func (p *hostPodman) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env
	return cmd
}

// run runs podman with args and returns its standard output.
func (p *hostPodman) run(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := p.command(context.Background(), args)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// TestContainerWithPodman builds a system whose container runs an image
// cairn made (cairn image --format oci), and runs the very command lines
// its OpenRC service runs with Debian's real podman: the image is not
// there, so it is loaded from the layout cairn build put into the
// generation; the network is missing, so it is made; `podman run` starts
// the container in the cgroup of the service (--cgroup-parent), as the
// declared user, with its environment, its published port and its
// network; its healthcheck passes, the page answers on the port; stopping
// the service's way ends and removes it; gc's prune removes the image
// once no generation uses it, not before. (On the node OpenRC makes the
// service's cgroup; here the cgroupfs manager makes it.)
func TestContainerWithPodman(t *testing.T) {
	t.Parallel()
	p := newHostPodman(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	// podman names an image pulled from oci:DIR after DIR, which must be
	// lower case (t.TempDir's is not; a node's /usr/lib/cairn/images is).
	dir, err := os.MkdirTemp("", "cairn-container-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	digest := e2etest.OCIImage(t, cairn, e2etest.ImageSource{Repositories: []string{r.Dir}, Keys: r.Keys,
		Packages: []string{"alpine-baselayout-data", "busybox"},
		Extra:    "files:\n  inline: [{path: /srv/www/index.html, content: \"hello from a cairn image\\n\"}]\n"}, filepath.Join(dir, "web.tar"))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	name := "e2eweb" + strconv.Itoa(os.Getpid())
	network := "cairne2e" + strconv.Itoa(os.Getpid())
	mf := filepath.Join(dir, "system.yaml")
	writeText(t, mf, fmt.Sprintf(`apiVersion: cairn/v1
kind: System
alpine:
  arch: x86_64
  repositories: [{url: %s}]
  keys: [%s]
packages: [alpine-baselayout-data, busybox]
containers:
  %s:
    image: localhost/e2eweb@%s
    archive: web.tar
    command: [/bin/sh, -c, 'echo "serving for $GREETING"; exec /bin/busybox httpd -f -p 8080 -h /srv/www']
    user: "65534:65534"
    environment: {GREETING: "the e2e test"}
    ports: ["127.0.0.1:%d:8080"]
    network: %s
    healthcheck: {command: "/bin/busybox wget -q -O /dev/null http://127.0.0.1:8080/", interval: 5s, startPeriod: 60s}
`, r.Dir, r.Keys, name, digest, port, network))
	root := filepath.Join(dir, "root")
	e2etest.Run(t, cairn, "build", "-f", mf, "--root", root)

	sys, err := manifest.Load(mf)
	if err != nil {
		t.Fatal(err)
	}
	sys.ApplyDefaults()
	c := sys.Containers[name]
	img, err := container.ReadImage(dir, name, c)
	if err != nil {
		t.Fatal(err)
	}
	cmds := container.CommandsFor(name, c, img)
	// The generation holds the service and the image where the service
	// loads it from.
	script, err := os.ReadFile(filepath.Join(root, "etc/init.d", name))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "oci:"+img.Layout()) || !strings.Contains(string(script), img.ID) {
		t.Errorf("the service does not load %s:\n%s", img.Layout(), script)
	}
	if target, err := os.Readlink(filepath.Join(root, "etc/runlevels/default", name)); err != nil || target != "/etc/init.d/"+name {
		t.Errorf("the container is not in the default runlevel: %q, %v", target, err)
	}
	// The layout's path in the generation, seen from the build host.
	load := append([]string(nil), cmds.Load...)
	load[len(load)-1] = "oci:" + filepath.Join(root, img.Layout())

	if _, err := p.run(cmds.ImageExists...); err == nil {
		t.Fatal("the image exists before the service loaded it")
	}
	if _, err := p.run(load...); err != nil {
		t.Fatal(err)
	}
	if _, err := p.run(cmds.ImageExists...); err != nil {
		t.Fatalf("after loading, the image is not podman's %s (the id the service runs): %v", img.ID, err)
	}
	if _, err := p.run(cmds.NetworkExists...); err == nil {
		t.Fatal("the network exists before the service made it")
	}
	if _, err := p.run(cmds.NetworkCreate...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.run("network", "rm", "--force", network) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	run := p.command(ctx, cmds.Run)
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var runErr error
	go func() { runErr = run.Wait(); close(exited) }()
	t.Cleanup(func() {
		// As the service's stop_post does.
		p.run(cmds.Stop...)
		p.run(cmds.Remove...)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			t.Errorf("podman run did not end after podman stop")
		}
		testutil.WaitForProcessesUsing(t, p.dir)
		removeCgroups(t, container.ServiceCgroup(name))
	})

	// Ready when the healthcheck passes, as the service's start_post
	// waits (startPeriod).
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := p.run(cmds.Health...)
		if err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("podman run ended: %v\n%s", runErr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the healthcheck did not pass in 60 s: %v\n%s", err, out.String())
		}
		time.Sleep(time.Second) // the service's own pause between tries
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("the published port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from a cairn image\n" {
		t.Errorf("the page is %q", body)
	}
	// env prints in no fixed order: GREETING may be the first line.
	if env, err := p.run("exec", name, "/bin/busybox", "env"); err != nil || !slices.Contains(strings.Split(env, "\n"), "GREETING=the e2e test") {
		t.Errorf("the container's environment: %q, %v", env, err)
	}
	pid, err := p.run("inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatal(err)
	}
	cg, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(pid), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
		if !strings.Contains(line, container.ServiceCgroup(name)+"/") && !strings.HasSuffix(line, ":/") {
			t.Errorf("the container's process is outside its service's cgroup %s: %s", container.ServiceCgroup(name), line)
		}
	}
	if !strings.Contains(string(cg), container.ServiceCgroup(name)+"/") {
		t.Errorf("the container's process is not in its service's cgroup:\n%s", cg)
	}
	if id, err := p.run("exec", name, "/bin/busybox", "id", "-u"); err != nil || strings.TrimSpace(id) != "65534" {
		t.Errorf("the container's user: %q, %v", id, err)
	}
	if nets, err := p.run("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", name); err != nil || strings.TrimSpace(nets) != network {
		t.Errorf("the container's networks: %q, %v", nets, err)
	}

	// The service stops: stop_post ends and removes the container.
	if _, err := p.run(cmds.Stop...); err != nil {
		t.Error(err)
	}
	if _, err := p.run(cmds.Remove...); err != nil {
		t.Error(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("podman run did not end after podman stop")
	}
	if _, err := p.run("container", "exists", name); err == nil {
		t.Error("the container still exists after its service stopped")
	}

	// gc: the image stays while a generation uses it, and goes with the
	// last generation that does. The service recorded it as it loaded it
	// (the node's /var/lib/cairn/containers/loaded, here below node).
	node := filepath.Join(dir, "node")
	if err := os.MkdirAll(filepath.Join(node, filepath.Dir(container.LoadedRecord)), 0o755); err != nil {
		t.Fatal(err)
	}
	writeText(t, filepath.Join(node, container.LoadedRecord), img.ID+"\n")
	rmi := func(args ...string) ([]byte, error) {
		out, err := p.run(args...)
		return []byte(out), err
	}
	if removed, err := container.Prune(node, []string{root}, rmi); err != nil || len(removed) != 0 {
		t.Errorf("pruned while the generation uses the image: %v, %v", removed, err)
	}
	if _, err := p.run(cmds.ImageExists...); err != nil {
		t.Errorf("the image a generation uses is gone: %v", err)
	}
	if removed, err := container.Prune(node, nil, rmi); err != nil || len(removed) != 1 || removed[0] != img.ID {
		t.Errorf("pruned without a generation using the image: %v, %v; want [%s]", removed, err, img.ID)
	}
	if _, err := p.run(cmds.ImageExists...); err == nil {
		t.Error("the image no generation uses is still in podman's storage")
	}
	if rec, err := os.ReadFile(filepath.Join(node, container.LoadedRecord)); err != nil || len(rec) != 0 {
		t.Errorf("the record of loaded images after gc: %q, %v", rec, err)
	}
}

// removeCgroups removes the cgroup rel (and the cgroups below it) in
// every hierarchy mounted under /sys/fs/cgroup, deepest first.
func removeCgroups(t *testing.T, rel string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, r := range roots {
		top := filepath.Join(r, rel)
		var dirs []string
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !os.IsNotExist(err) {
				t.Errorf("remove the cgroup %s: %v", dirs[i], err)
			}
		}
	}
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
