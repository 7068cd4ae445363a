package manifest

// Container is a container run by podman as an OpenRC service of its
// own: one supervised `podman run` in the service's cgroup, from an image
// pinned by digest and loaded from an OCI archive or layout the
// generation carries, so a boot needs no registry.
type Container struct {
	Description string            `yaml:"description,omitempty" doc:"What the container is."`
	Image       string            `yaml:"image" doc:"The image, pinned by the digest of its manifest: name@sha256:HEX (the name is only for people)."`
	Archive     string            `yaml:"archive" doc:"The image as an OCI archive (.tar) or OCI layout directory, relative to the manifest; it must hold the manifest image names. It goes into the generation."`
	Command     []string          `yaml:"command,omitempty" doc:"Arguments replacing the image's default command."`
	User        string            `yaml:"user,omitempty" doc:"User (and group) inside the container: name, id, or user:group."`
	Environment map[string]string `yaml:"environment,omitempty" doc:"Environment variables in the container."`
	Ports       []string          `yaml:"ports,omitempty" doc:"Published ports: [ADDRESS:]HOSTPORT:CONTAINERPORT[/tcp|udp], like 8080:80 or 127.0.0.1:5432:5432."`
	Volumes     []string          `yaml:"volumes,omitempty" doc:"Directories of the node in the container: HOSTPATH:CONTAINERPATH[:ro]; the node's path must be persistent (under /var or a persist path)."`
	Network     string            `yaml:"network,omitempty" doc:"A podman bridge network the container joins, made when missing and shared by the containers naming it; podman's default bridge when empty."`
	Healthcheck ContainerHealth   `yaml:"healthcheck,omitempty" doc:"How podman checks the container; the service is started once it passes, and the trial waits for it."`
	Runlevel    string            `yaml:"runlevel,omitempty" doc:"The runlevel the container starts in: default when empty."`
	Need        []string          `yaml:"need,omitempty" doc:"OpenRC need: services (or containers) that must start first and keep running."`
	After       []string          `yaml:"after,omitempty" doc:"OpenRC after."`
	Cgroup      map[string]string `yaml:"cgroup,omitempty" doc:"cgroup v2 limits on the container's service (podman, conmon and the container): memory.max, cpu.max, pids.max..."`
}

// ContainerHealth is a container's health check.
type ContainerHealth struct {
	Command     string `yaml:"command" text:"lines" doc:"A shell command run inside the container (/bin/sh -c); exit 0 is healthy."`
	Interval    string `yaml:"interval,omitempty" doc:"How often podman runs it: 30s by default."`
	Timeout     string `yaml:"timeout,omitempty" doc:"How long one run may take: 10s by default."`
	Retries     int    `yaml:"retries,omitempty" doc:"Failures in a row that make the container unhealthy: 3 by default."`
	StartPeriod string `yaml:"startPeriod,omitempty" doc:"How long the container may take to become healthy when it starts: 60s by default; the service waits that long."`
}
