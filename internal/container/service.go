package container

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/openrc"
)

// Podman is the container runtime on the node.
const Podman = "/usr/bin/podman"

// LoadedRecord lists, one id a line, the images the services loaded into
// podman's storage on this node (persistent, below /var): what Prune may
// remove once no generation uses them.
const LoadedRecord = "/var/lib/cairn/containers/loaded"

// Healthcheck defaults, podman's own.
const (
	defaultInterval    = "30s"
	defaultTimeout     = "10s"
	defaultRetries     = 3
	defaultStartPeriod = "60s"
)

// Commands are the podman command lines of a container's service, without
// the program: what the service runs, in order. Tests run the same lines
// with a real podman, and compare them with what a stand-in recorded.
type Commands struct {
	// ImageExists succeeds when the image is in podman's storage; Load
	// puts it there from the generation's layout.
	ImageExists, Load []string
	// NetworkExists and NetworkCreate make the container's network
	// when it names one.
	NetworkExists, NetworkCreate []string
	// Run is the supervised process: the container in the foreground,
	// in the cgroup of the service (--cgroup-parent), removed when it
	// ends.
	Run []string
	// Health runs the healthcheck once; nil without one.
	Health []string
	// Stop and Remove end the container when its service stops, after
	// the supervisor stopped `podman run`: a signal podman passes on may
	// be ignored by the container's first process, and the container
	// outlives the podman that started it.
	Stop, Remove []string
}

// ServiceCgroup is the cgroup OpenRC gives the service of a container
// (rc_cgroup_mode unified).
func ServiceCgroup(name string) string { return "/openrc." + name }

// CommandsFor returns the command lines of container name.
func CommandsFor(name string, c manifest.Container, img *Image) Commands {
	cmds := Commands{
		ImageExists: []string{"image", "exists", img.ID},
		Load:        []string{"pull", "--quiet", "oci:" + img.Layout()},
	}
	if c.Network != "" && !slices.Contains([]string{"host", "none", "podman", "bridge"}, c.Network) {
		cmds.NetworkExists = []string{"network", "exists", c.Network}
		cmds.NetworkCreate = []string{"network", "create", c.Network}
	}
	// cgroupfs is the manager that takes the parent as a path: OpenRC's
	// cgroup of the service, so that its limits bound the container.
	run := []string{"--cgroup-manager", "cgroupfs", "run", "--rm", "--replace", "--name", name,
		"--cgroup-parent", ServiceCgroup(name), "--label", "io.cairn.container=" + name}
	if c.User != "" {
		run = append(run, "--user", c.User)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Environment)) {
		run = append(run, "--env", k+"="+c.Environment[k])
	}
	for _, p := range c.Ports {
		run = append(run, "--publish", p)
	}
	for _, v := range c.Volumes {
		run = append(run, "--volume", v)
	}
	if c.Network != "" {
		run = append(run, "--network", c.Network)
	}
	if h := c.Healthcheck; h.Command != "" {
		retries := h.Retries
		if retries == 0 {
			retries = defaultRetries
		}
		run = append(run, "--health-cmd", h.Command,
			"--health-interval", or(h.Interval, defaultInterval),
			"--health-timeout", or(h.Timeout, defaultTimeout),
			"--health-retries", fmt.Sprint(retries),
			"--health-start-period", or(h.StartPeriod, defaultStartPeriod))
		cmds.Health = []string{"healthcheck", "run", name}
	}
	cmds.Run = append(append(run, img.ID), c.Command...)
	cmds.Stop = []string{"stop", "--ignore", "--time", "10", name}
	cmds.Remove = []string{"rm", "--force", "--ignore", name}
	return cmds
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// startPeriod is how long the service waits for the first passing
// healthcheck, in seconds.
func startPeriod(c manifest.Container) int {
	d, err := time.ParseDuration(or(c.Healthcheck.StartPeriod, defaultStartPeriod))
	if err != nil || d < time.Second {
		return 60
	}
	return int(d / time.Second)
}

// Script returns the OpenRC service of container name: supervise-daemon
// keeps `podman run` running; start_pre loads the image when podman does
// not have it yet and makes the network; start_post waits until the
// healthcheck passes; stop_post ends and removes the container. Its
// conf.d carries the cgroup limits.
func Script(name string, c manifest.Container, img *Image) openrc.Script {
	cmds := CommandsFor(name, c, img)
	desc := c.Description
	if desc == "" {
		desc = "Container " + name + " (" + c.Image + ")"
	}
	svc := manifest.Service{
		Description: desc,
		Command:     Podman,
		Args:        cmds.Run,
		Need:        c.Need,
		After:       append([]string{"networking", "cgroups"}, c.After...),
		Supervisor:  manifest.DefaultSupervisor,
		Respawn:     manifest.Respawn{Delay: 2},
		OutputLog:   "/var/log/containers/" + name + ".log",
		ErrorLog:    "/var/log/containers/" + name + ".log",
		Cgroup:      c.Cgroup,
	}
	var pre strings.Builder
	pre.WriteString("\tmkdir -p /var/log/containers " + openrc.Quote(dirOf(LoadedRecord)) + " || return 1\n")
	fmt.Fprintf(&pre, "\tif ! %s >/dev/null 2>&1; then\n", shell(cmds.ImageExists))
	fmt.Fprintf(&pre, "\t\tebegin \"Loading the image of %s from %s\"\n", name, img.Layout())
	fmt.Fprintf(&pre, "\t\t%s >/dev/null && echo %s >> %s\n", shell(cmds.Load), img.ID, LoadedRecord)
	pre.WriteString("\t\teend $? || return 1\n\tfi\n")
	if cmds.NetworkExists != nil {
		fmt.Fprintf(&pre, "\t%s >/dev/null 2>&1 || %s >/dev/null || return 1\n", shell(cmds.NetworkExists), shell(cmds.NetworkCreate))
	}
	var post string
	if cmds.Health != nil {
		post = fmt.Sprintf(`	# Ready once the container's healthcheck passes (healthcheck.startPeriod).
	ebegin "Waiting for %[1]s to be healthy"
	_deadline=$(( $(date +%%s) + %[2]d ))
	until %[3]s >/dev/null 2>&1; do
		if [ "$(date +%%s)" -ge "$_deadline" ]; then
			eend 1 "%[1]s is not healthy after %[2]d s"
			return 1
		fi
		sleep 1
	done
	eend 0
`, name, startPeriod(c), shell(cmds.Health))
	}
	funcs := []openrc.Function{{Name: "start_pre", Body: pre.String()}}
	if post != "" {
		funcs = append(funcs, openrc.Function{Name: "start_post", Body: post})
	}
	funcs = append(funcs, openrc.Function{Name: "stop_post", Body: fmt.Sprintf("\t%s >/dev/null 2>&1\n\t%s >/dev/null 2>&1\n\treturn 0\n", shell(cmds.Stop), shell(cmds.Remove))})
	return openrc.Script{Name: name, Service: svc, Source: manifest.KeyPath("containers", name), Functions: funcs}
}

// shell writes podman and args as a shell command line.
func shell(args []string) string {
	words := []string{Podman}
	for _, a := range args {
		words = append(words, openrc.Quote(a))
	}
	return strings.Join(words, " ")
}

func dirOf(p string) string { return p[:strings.LastIndexByte(p, '/')] }

// HealthCheck is the trial's check of a container: its healthcheck
// passes, or without one, its service is started.
func HealthCheck(name string, c manifest.Container) manifest.HealthCheck {
	if c.Healthcheck.Command == "" {
		return manifest.HealthCheck{Name: "container " + name, Service: name}
	}
	return manifest.HealthCheck{Name: "container " + name, Command: shell([]string{"healthcheck", "run", name}),
		Timeout: fmt.Sprintf("%ds", startPeriod(c))}
}
