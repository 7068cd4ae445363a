// Package manifest is cairn's description of a whole system: the
// `kind: System` YAML document, strictly parsed with positions, validated,
// completed with defaults, and published as a JSON Schema; and cairn.lock,
// which pins what a manifest resolved to.
package manifest

// APIVersion and the kinds this version of cairn reads.
const (
	APIVersion = "cairn/v1"
	KindSystem = "System"
)

// System is a `kind: System` manifest after includes are merged. Field tags
// give the YAML key (lowerCamelCase) and the JSON Schema; `doc` is the
// description published in the schema and in docs/manifest.md; `text`
// says what a string may hold: one line of text without control
// characters unless it is "lines" (line breaks and tabs too) or "any".
type System struct {
	APIVersion string `yaml:"apiVersion" doc:"Always cairn/v1."`
	Kind       string `yaml:"kind" doc:"Always System."`
	// Include lists manifests (paths relative to this file) merged under
	// this one: lists are concatenated (included first), maps and scalars
	// set here win.
	Include     []string `yaml:"include,omitempty" doc:"Manifests merged under this one, relative to this file: lists are joined (included ones first), maps and single values set here win."`
	Name        string   `yaml:"name,omitempty" doc:"A name for the system, shown in generations and boot menus."`
	Description string   `yaml:"description,omitempty" doc:"Free text kept with each generation."`

	Alpine    Alpine     `yaml:"alpine" doc:"Where packages come from."`
	Packages  []string   `yaml:"packages,omitempty" doc:"The world: dependencies in apk syntax (name, name@tag, name>=1.2, !name)."`
	Artifacts []Artifact `yaml:"artifacts,omitempty" doc:"Software Alpine does not package, fetched by URL and checksum and installed as local packages."`
	Services  Services   `yaml:"services,omitempty" doc:"OpenRC services: which run in which runlevel, and services defined here."`
	// Containers and Tenants are described in docs/containers.md and
	// docs/tenants.md.
	Containers map[string]Container `yaml:"containers,omitempty" doc:"Containers run by podman, each an OpenRC service of its own, from images pinned by digest that the generation carries."`
	Users      []User               `yaml:"users,omitempty" doc:"User accounts."`
	Groups     []Group              `yaml:"groups,omitempty" doc:"Groups."`
	Tenants    []UserProfile        `yaml:"tenants,omitempty" doc:"Tenants of the node (kind: UserProfile documents, usually included: include: [tenants/alice.yaml] adds one here): a user with a home subvolume under a quota, snapshots, and cgroup limits on its services and sessions."`
	Hostname   string               `yaml:"hostname,omitempty" doc:"The host name (/etc/hostname)."`
	Timezone   string               `yaml:"timezone,omitempty" doc:"A zone of the tz database (Europe/Berlin); UTC when empty."`
	Hosts      []HostEntry          `yaml:"hosts,omitempty" doc:"Extra /etc/hosts lines."`
	Network    Network              `yaml:"network,omitempty" doc:"Network interfaces (ifupdown-ng) and wireless (iwd)."`
	Fstab      []Mount              `yaml:"fstab,omitempty" doc:"Extra /etc/fstab entries."`
	Sysctl     map[string]string    `yaml:"sysctl,omitempty" doc:"Kernel parameters (/etc/sysctl.d/00-cairn.conf)."`
	Modules    []string             `yaml:"modules,omitempty" doc:"Kernel modules loaded at boot (/etc/modules-load.d/cairn.conf)."`
	Kernel     Kernel               `yaml:"kernel,omitempty" doc:"The kernel and its command line."`
	Persist    []string             `yaml:"persist,omitempty" doc:"Absolute paths kept on persistent storage instead of in the generation (/home, /var/log...)."`
	Files      Files                `yaml:"files,omitempty" doc:"Files copied into the system."`
	Setup      []Script             `yaml:"setup,omitempty" doc:"Scripts run inside the new root at the end of the build, for what cannot be declared."`
	Health     []HealthCheck        `yaml:"health,omitempty" doc:"Checks a new generation must pass after it boots before cairn-confirm makes it the default; besides them, no OpenRC service may have failed."`
	Secrets    []Secret             `yaml:"secrets,omitempty" doc:"Files encrypted with age beside the manifest, decrypted only on the node, at boot, into /run/secrets (docs/secrets.md)."`
	Snapshots  []Snapshot           `yaml:"snapshots,omitempty" doc:"Snapshot schedules of persistent paths (btrfs stores): cairn takes read-only snapshots and prunes them by btrbk-style retention (docs/state.md)."`
}

// Declared-file states: what a node does with a declared file under /var
// or a persist path at every boot (docs/state.md).
const (
	// StateManaged files are put in place from the booted generation at
	// every boot; the one replaced is kept.
	StateManaged = "managed"
	// StateSeed files are written only when absent.
	StateSeed = "seed"
)

// Snapshot is the snapshot schedule of one persistent path.
type Snapshot struct {
	Path        string `yaml:"path" doc:"A persisted path (/var or one of persist:)."`
	Every       string `yaml:"every,omitempty" doc:"How often a snapshot is taken: a duration such as 15m, 1h or 1d; 1h by default."`
	PreserveMin string `yaml:"preserveMin,omitempty" doc:"Keep every snapshot younger than this duration (btrbk's snapshot_preserve_min), like 6h; 1d by default."`
	Preserve    string `yaml:"preserve,omitempty" doc:"btrbk's snapshot_preserve: hourly, daily, weekly, monthly, yearly snapshots to keep, like '48h 7d 4w 12m'."`
}

// Secret is an age-encrypted file kept beside the manifest (safe to
// commit): generations and images carry it encrypted, and only the node
// decrypts it, into memory (internal/secrets, docs/secrets.md).
type Secret struct {
	Name     string   `yaml:"name" doc:"The secret's name: lower-case letters, digits and . _ -."`
	File     string   `yaml:"file" doc:"The age-encrypted file, relative to the manifest (cairn secrets edit makes it)."`
	Path     string   `yaml:"path,omitempty" doc:"Where the node puts the decrypted file, below /run/secrets (a memory file system); /run/secrets/NAME by default."`
	Owner    string   `yaml:"owner,omitempty" doc:"user:group of the decrypted file, root:root by default."`
	Mode     string   `yaml:"mode,omitempty" doc:"Octal mode of the decrypted file, 0400 by default."`
	Services []string `yaml:"services,omitempty" doc:"OpenRC services that need it: started only after it is in place, restarted when it changes."`
}

// HealthCheck is one check a freshly booted generation must pass.
type HealthCheck struct {
	Name    string `yaml:"name,omitempty" doc:"A name for the check, shown when it fails; the service or command when empty."`
	Service string `yaml:"service,omitempty" doc:"An OpenRC service that must be started. Give service or command."`
	Command string `yaml:"command,omitempty" text:"lines" doc:"A shell command (/bin/sh -c) that must exit 0."`
	Timeout string `yaml:"timeout,omitempty" doc:"How long the check is retried until it passes: 30s, 2m. 60s by default, at most 1h."`
}

// Alpine says which Alpine and which repositories.
type Alpine struct {
	Version      string       `yaml:"version,omitempty" doc:"Alpine release branch: v3.19, edge. Used to complete repository URLs given as mirror bases."`
	Arch         string       `yaml:"arch,omitempty" doc:"Architecture (x86_64, aarch64...); the build machine's when empty."`
	Repositories []Repository `yaml:"repositories" doc:"Repositories in order; packages from an earlier one win on equal versions."`
	// Keys are files or directories of trusted RSA public keys, relative
	// to the manifest.
	Keys           []string `yaml:"keys,omitempty" doc:"Trusted signing keys: .rsa.pub files or directories of them, relative to the manifest."`
	AllowUntrusted bool     `yaml:"allowUntrusted,omitempty" doc:"Accept unsigned or untrusted indexes and packages. Unsafe; for local experiments only."`
}

// Repository is one package repository.
type Repository struct {
	URL string `yaml:"url" doc:"Repository base (http(s)://, file:// or a path relative to the manifest), or an APKINDEX.tar.gz."`
	Tag string `yaml:"tag,omitempty" doc:"Tag name: packages asked for as name@tag come only from tagged repositories."`
}

// Artifact is a file fetched by URL and checksum, wrapped as a local apk
// package so that the installed system knows who owns it.
type Artifact struct {
	Name    string   `yaml:"name" doc:"Package name the artifact is installed as."`
	Version string   `yaml:"version" doc:"Package version (apk syntax): 1.7.2."`
	URL     string   `yaml:"url" doc:"Where to fetch it (http(s)://, file:// or a path relative to the manifest)."`
	SHA256  string   `yaml:"sha256" doc:"SHA-256 of the fetched file, hex; a mismatch fails the build."`
	Extract string   `yaml:"extract,omitempty" doc:"Member to take from a .zip, .tar, .tar.gz or .tgz download; the download itself when empty."`
	Path    string   `yaml:"path" doc:"Absolute install path."`
	Mode    string   `yaml:"mode,omitempty" doc:"Octal mode, 0755 by default."`
	Owner   string   `yaml:"owner,omitempty" doc:"user:group, root:root by default."`
	Depends []string `yaml:"depends,omitempty" doc:"Dependencies of the wrapping package, in apk syntax."`
	State   string   `yaml:"state,omitempty" doc:"For a path under /var or a persist path: managed (put in place at every boot, the default) or seed (written only when absent)."`
}

// Services are the OpenRC runlevels and the services cairn writes.
type Services struct {
	// Runlevels maps a runlevel (one of OpenRC's, or one of Declared) to
	// the services in it.
	Runlevels map[string][]string `yaml:",inline" doc:"Runlevel name to the services started in it: sysinit, boot, default, nonetwork, shutdown, or a runlevel declared in runlevels."`
	// Declared are runlevels of the manifest's own, besides OpenRC's: a
	// runlevel key that is neither is a typo.
	Declared []string           `yaml:"runlevels,omitempty" doc:"Runlevels of your own besides OpenRC's (sysinit, boot, default, nonetwork, shutdown); cairn makes /etc/runlevels/NAME for each."`
	Define   map[string]Service `yaml:"define,omitempty" doc:"Services without an init script of their own: cairn writes /etc/init.d/NAME and /etc/conf.d/NAME."`
}

// Service is a service defined by a few fields; cairn renders its OpenRC
// init script.
type Service struct {
	Description string            `yaml:"description,omitempty" doc:"What the service is."`
	Command     string            `yaml:"command" doc:"Absolute path of the program."`
	Args        []string          `yaml:"args,omitempty" doc:"Arguments."`
	User        string            `yaml:"user,omitempty" doc:"User to run as."`
	Group       string            `yaml:"group,omitempty" doc:"Group to run as."`
	Directory   string            `yaml:"directory,omitempty" doc:"Working directory."`
	Environment map[string]string `yaml:"environment,omitempty" doc:"Environment variables."`
	Need        []string          `yaml:"need,omitempty" doc:"OpenRC need: services that must start first and keep running."`
	Use         []string          `yaml:"use,omitempty" doc:"OpenRC use: started first when they are in a runlevel."`
	After       []string          `yaml:"after,omitempty" doc:"OpenRC after."`
	Before      []string          `yaml:"before,omitempty" doc:"OpenRC before."`
	Provide     []string          `yaml:"provide,omitempty" doc:"OpenRC provide: virtual names this service provides."`
	Supervisor  string            `yaml:"supervisor,omitempty" doc:"supervise-daemon (default: restarts the program when it dies) or start-stop-daemon."`
	Respawn     Respawn           `yaml:"respawn,omitempty" doc:"Restart policy under supervise-daemon."`
	OutputLog   string            `yaml:"outputLog,omitempty" doc:"File receiving the program's standard output."`
	ErrorLog    string            `yaml:"errorLog,omitempty" doc:"File receiving its standard error."`
	// Cgroup holds cgroup v2 settings (memory.max, cpu.max, pids.max...)
	// applied through OpenRC's rc_cgroup_settings.
	Cgroup map[string]string `yaml:"cgroup,omitempty" doc:"cgroup v2 limits through OpenRC's rc_cgroup_settings: memory.max, cpu.max, pids.max..."`
}

// Respawn is supervise-daemon's restart policy.
type Respawn struct {
	Delay  int `yaml:"delay,omitempty" doc:"Seconds to wait before restarting."`
	Max    int `yaml:"max,omitempty" doc:"Restarts allowed within period; 0 means no limit."`
	Period int `yaml:"period,omitempty" doc:"Seconds over which max counts."`
}

// User is a user account.
type User struct {
	Name              string   `yaml:"name" doc:"Login name."`
	UID               *int     `yaml:"uid,omitempty" doc:"User id; the next free one from 1000 (system users: from 100) when empty."`
	Group             string   `yaml:"group,omitempty" doc:"Primary group; a group of the user's name is made when empty."`
	Groups            []string `yaml:"groups,omitempty" doc:"Supplementary groups (wheel, ...)."`
	Home              string   `yaml:"home,omitempty" doc:"Home directory, /home/NAME by default (/var/empty for system users)."`
	Shell             string   `yaml:"shell,omitempty" doc:"Login shell, /bin/sh by default (/sbin/nologin for system users)."`
	Gecos             string   `yaml:"gecos,omitempty" doc:"Full name or comment."`
	System            bool     `yaml:"system,omitempty" doc:"A system account (daemon user): low id, no login."`
	PasswordHash      string   `yaml:"passwordHash,omitempty" doc:"crypt(3) hash for /etc/shadow ($6$...). Without it the account has no password login (locked)."`
	SSHAuthorizedKeys []string `yaml:"sshAuthorizedKeys,omitempty" doc:"Lines of ~/.ssh/authorized_keys."`
}

// Group is a group.
type Group struct {
	Name    string   `yaml:"name" doc:"Group name."`
	GID     *int     `yaml:"gid,omitempty" doc:"Group id; the next free one when empty."`
	Members []string `yaml:"members,omitempty" doc:"Users in the group besides those naming it in their groups."`
	System  bool     `yaml:"system,omitempty" doc:"A system group (low id)."`
}

// HostEntry is one line of /etc/hosts.
type HostEntry struct {
	Address string   `yaml:"address" doc:"IP address."`
	Names   []string `yaml:"names" doc:"Host names for it."`
}

// Network configures interfaces and wireless.
type Network struct {
	// Interfaces is ifupdown-ng's /etc/network/interfaces text, verbatim.
	Interfaces string      `yaml:"interfaces,omitempty" text:"lines" doc:"/etc/network/interfaces verbatim (ifupdown-ng syntax). Not together with ifaces."`
	Ifaces     []Interface `yaml:"ifaces,omitempty" doc:"Interfaces in a simple structured form, rendered to /etc/network/interfaces."`
	// IWD holds /etc/iwd/main.conf sections: section -> key -> value.
	IWD map[string]map[string]string `yaml:"iwd,omitempty" doc:"/etc/iwd/main.conf: section name to keys and values."`
}

// Interface is a network interface in structured form.
type Interface struct {
	Name        string   `yaml:"name" doc:"Interface name: eth0, wlan0, br0."`
	DHCP        bool     `yaml:"dhcp,omitempty" doc:"Configure by DHCP."`
	Address     []string `yaml:"address,omitempty" doc:"Static addresses in CIDR form: 10.0.0.5/24, fd00::5/64."`
	Gateway     string   `yaml:"gateway,omitempty" doc:"Default gateway."`
	Auto        *bool    `yaml:"auto,omitempty" doc:"Bring up at boot (default true)."`
	BridgePorts []string `yaml:"bridgePorts,omitempty" doc:"Ports of a bridge interface."`
}

// Mount is an /etc/fstab entry.
type Mount struct {
	Device     string   `yaml:"device" doc:"What to mount: /dev/..., UUID=..., LABEL=..., tmpfs..."`
	Mountpoint string   `yaml:"mountpoint" doc:"Where: an absolute path (or none for swap)."`
	Type       string   `yaml:"type" doc:"File system type: btrfs, ext4, vfat, tmpfs, swap..."`
	Options    []string `yaml:"options,omitempty" doc:"Mount options; defaults when empty."`
	Dump       int      `yaml:"dump,omitempty" doc:"fstab dump field."`
	Pass       int      `yaml:"pass,omitempty" doc:"fstab pass field (fsck order)."`
}

// Kernel is the kernel and its command line.
type Kernel struct {
	Package   string    `yaml:"package,omitempty" doc:"Kernel package: linux-lts, linux-virt, linux-rpi... None when empty (containers)."`
	Cmdline   []string  `yaml:"cmdline,omitempty" doc:"Kernel command line arguments."`
	Initramfs Initramfs `yaml:"initramfs,omitempty" doc:"What the initramfs must support."`
}

// Initramfs lists initramfs features.
type Initramfs struct {
	Features []string `yaml:"features,omitempty" doc:"mkinitfs-style features: ata, btrfs, nvme, usb, virtio..."`
	Modules  []string `yaml:"modules,omitempty" doc:"Extra kernel modules to include."`
}

// Files are files put into the system.
type Files struct {
	// Skeleton is a directory, relative to the manifest, copied into the
	// root (its modes kept, owned by root unless Owners say otherwise).
	Skeleton string       `yaml:"skeleton,omitempty" doc:"A directory (relative to the manifest) copied into the root as it is."`
	Inline   []InlineFile `yaml:"inline,omitempty" doc:"Single files with their content here."`
	// Seeds are skeleton paths under /var or a persist path that are
	// seeds rather than managed (docs/state.md).
	Seeds []string `yaml:"seeds,omitempty" doc:"Skeleton files (or directories of them) under /var or a persist path that are written on a node only when absent; the others are put in place at every boot."`
}

// InlineFile is a file whose content is in the manifest.
type InlineFile struct {
	Path    string `yaml:"path" doc:"Absolute path."`
	Content string `yaml:"content" text:"any" doc:"The file's content."`
	Mode    string `yaml:"mode,omitempty" doc:"Octal mode, 0644 by default."`
	Owner   string `yaml:"owner,omitempty" doc:"user:group, root:root by default."`
	State   string `yaml:"state,omitempty" doc:"For a path under /var or a persist path: managed (put in place at every boot, the default) or seed (written only when absent)."`
}

// Script is a setup script run in the new root, in the sandbox package
// scripts run in (internal/sandbox).
type Script struct {
	Name  string `yaml:"name" doc:"Name shown in the build log."`
	Run   string `yaml:"run,omitempty" text:"lines" doc:"Shell script text (run with /bin/sh -e)."`
	File  string `yaml:"file,omitempty" doc:"Or a script file relative to the manifest."`
	Shell string `yaml:"shell,omitempty" doc:"Interpreter, /bin/sh by default."`
	// Network lets the script use the build host's network; without it
	// the script sees only a loopback interface of its own.
	Network bool `yaml:"network,omitempty" doc:"The script needs the network: it shares the build host's network instead of having only a loopback interface."`
}

// Lock is cairn.lock: what a manifest resolved to. The same manifest and
// lock build the same tree byte for byte.
type Lock struct {
	Version int `yaml:"lockVersion" json:"lockVersion"`
	// ManifestDigest is the SHA-256 of the merged manifest the lock was
	// made for (see Digest).
	ManifestDigest string `yaml:"manifestDigest" json:"manifestDigest"`
	// SourceDateEpoch is the build time of every file cairn writes and of
	// the generation's metadata: the newest build time of the locked
	// packages, so relocking the same packages gives the same epoch.
	SourceDateEpoch int64            `yaml:"sourceDateEpoch" json:"sourceDateEpoch"`
	Arch            string           `yaml:"arch" json:"arch"`
	Packages        []LockedPackage  `yaml:"packages" json:"packages"`
	Artifacts       []LockedArtifact `yaml:"artifacts,omitempty" json:"artifacts,omitempty"`
}

// LockedPackage pins one package.
type LockedPackage struct {
	Name       string `yaml:"name" json:"name"`
	Version    string `yaml:"version" json:"version"`
	Repository string `yaml:"repository" json:"repository"` // the repository URL as in the manifest
	Checksum   string `yaml:"checksum" json:"checksum"`     // apk identity, Q1...
}

// LockedArtifact pins one artifact.
type LockedArtifact struct {
	Name   string `yaml:"name" json:"name"`
	URL    string `yaml:"url" json:"url"`
	SHA256 string `yaml:"sha256" json:"sha256"`
}
