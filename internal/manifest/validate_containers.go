package manifest

import (
	"path"
	"slices"
	"strconv"
	"strings"
)

// AlwaysPersisted are the directories every generation keeps outside
// itself, whatever persist says (compose.DefaultPersist).
var AlwaysPersisted = []string{"/var"}

var (
	// imageRef is NAME@sha256:HEX, NAME as an image reference's path
	// (registry host and port, path components, an optional tag).
	imageRef      = lazy(`^([a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?)@sha256:([0-9a-f]{64})$`)
	containerUser = lazy(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$`)
	portMapping   = lazy(`^(([0-9]{1,3}(\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:]+\]):)?([0-9]{1,5}):([0-9]{1,5})(/(tcp|udp))?$`)
	networkName   = lazy(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// ImageDigest returns the manifest digest (sha256:HEX) an image reference
// of a container pins, or "".
func ImageDigest(image string) string {
	m := imageRef.FindStringSubmatch(image)
	if m == nil {
		return ""
	}
	return "sha256:" + m[len(m)-1]
}

func (v *validator) containers(s *System) {
	persisted := append(slices.Clone(AlwaysPersisted), s.Persist...)
	for _, name := range sortedKeys(s.Containers) {
		p := keyPath("containers", name)
		if !v.serviceName(p, name, "container name") {
			continue
		}
		if _, ok := s.Services.Define[name]; ok {
			v.addRef(p, keyPath("services.define", name), "%s is defined as a service too: a container is a service of its own name; rename one", quoted(name))
		}
		v.container(p, name, s.Containers[name], s, persisted)
	}
}

func (v *validator) container(p, name string, c Container, s *System, persisted []string) {
	switch {
	case c.Image == "":
		v.add(keyPath(p, "image"), "missing: name the image pinned by digest, like localhost/%s@sha256:… (skopeo inspect or cairn image prints the digest)", name)
	case ImageDigest(c.Image) == "":
		msg := "is not an image pinned by digest: write NAME@sha256:HEX, the digest of the image's manifest"
		if strings.Contains(c.Image, "@sha256:") {
			msg = "is not an image reference: a lower-case name (registry/path[:tag]), @sha256: and 64 lower-case hex digits"
		}
		v.add(keyPath(p, "image"), "%s %s", quoted(c.Image), msg)
	}
	if c.Archive == "" {
		v.add(keyPath(p, "archive"), "missing: give the image as an OCI archive or layout directory beside the manifest (cairn image --format oci makes one), so that a boot needs no registry")
	}
	if c.User != "" && !containerUser.MatchString(c.User) {
		v.add(keyPath(p, "user"), "%s is not a user: write a name or id, or user:group", quoted(c.User))
	}
	for _, k := range sortedKeys(c.Environment) {
		if !envName.MatchString(k) {
			v.add(keyPath(keyPath(p, "environment"), k), "%s is not an environment variable name: use letters, digits and _, not starting with a digit", quoted(k))
		}
	}
	hostPorts := unique{}
	for i, port := range c.Ports {
		pp := indexPath(keyPath(p, "ports"), i)
		m := portMapping.FindStringSubmatch(port)
		if m == nil || !validPort(m[4]) || !validPort(m[5]) {
			v.add(pp, "%s is not a published port: write [ADDRESS:]HOSTPORT:CONTAINERPORT[/tcp|udp] with ports 1 to 65535, like 8080:80", quoted(port))
			continue
		}
		proto := m[7]
		if proto == "" {
			proto = "tcp"
		}
		hostPorts.seen(v, pp, m[1]+m[4]+"/"+proto, "host port")
	}
	for i, vol := range c.Volumes {
		v.volume(indexPath(keyPath(p, "volumes"), i), vol, persisted)
	}
	if c.Network != "" && !networkName.MatchString(c.Network) {
		v.add(keyPath(p, "network"), "%s is not a network name: use letters, digits and . _ -", quoted(c.Network))
	}
	v.containerHealth(keyPath(p, "healthcheck"), c.Healthcheck)
	if c.Runlevel != "" && (!slices.Contains(s.Services.AllRunlevels(), c.Runlevel) || c.Runlevel == "shutdown") {
		v.add(keyPath(p, "runlevel"), "%s is not a runlevel to start a container in (use default, boot or a runlevel declared in services.runlevels)", quoted(c.Runlevel))
	}
	for _, dep := range []struct {
		key   string
		names []string
	}{{"need", c.Need}, {"after", c.After}} {
		for i, n := range dep.names {
			dp := indexPath(keyPath(p, dep.key), i)
			if n == name {
				v.add(dp, "a container cannot %s itself", dep.key)
				continue
			}
			v.serviceName(dp, n, "service name")
		}
	}
	for _, k := range sortedKeys(c.Cgroup) {
		v.cgroup(keyPath(keyPath(p, "cgroup"), k), k, c.Cgroup[k])
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

// volume checks HOSTPATH:CONTAINERPATH[:ro|rw]: the node's path must
// outlive the generation, or what the container writes is lost at the
// next switch (or cannot be written at all on the read-only root).
func (v *validator) volume(p, vol string, persisted []string) {
	parts := strings.Split(vol, ":")
	if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
		v.add(p, "%s is not a volume: write HOSTPATH:CONTAINERPATH, or with :ro for read-only", quoted(vol))
		return
	}
	for _, part := range parts[:2] {
		if msg := absPathProblem(part, "/var/lib/app"); msg != "" {
			v.add(p, "%s", msg)
			return
		}
	}
	host := parts[0]
	for _, d := range persisted {
		if host == d || strings.HasPrefix(host, strings.TrimSuffix(d, "/")+"/") {
			return
		}
	}
	v.add(p, "%s is not persistent: the root is read-only and replaced by every generation; keep the data under /var or add %s (or a directory above it) to persist", host, path.Clean(host))
}

func (v *validator) containerHealth(p string, h ContainerHealth) {
	if h == (ContainerHealth{}) {
		return
	}
	if strings.TrimSpace(h.Command) == "" {
		v.add(keyPath(p, "command"), "missing: give the shell command that says the container is healthy, like wget -q -O /dev/null http://127.0.0.1/")
	}
	for _, d := range []struct{ key, value string }{{"interval", h.Interval}, {"timeout", h.Timeout}, {"startPeriod", h.StartPeriod}} {
		if d.value == "" {
			continue
		}
		if _, err := parseTimeout(d.value); err != nil {
			v.add(keyPath(p, d.key), "%v", err)
		}
	}
	if h.Retries < 0 {
		v.add(keyPath(p, "retries"), "%d is negative", h.Retries)
	}
}
