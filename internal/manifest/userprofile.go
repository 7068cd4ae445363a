package manifest

// KindUserProfile is the kind of a tenant's manifest, included from a
// System manifest; ProfileAPIVersion is the apiVersion the cluster guide
// writes for it (cairn/v1 is accepted too).
const (
	KindUserProfile   = "UserProfile"
	ProfileAPIVersion = "v1"
)

// UserProfile is a `kind: UserProfile` document: one tenant of a node, a
// user with a home of its own (a btrfs subvolume with a quota and
// snapshots), cgroup limits on its services and login sessions, and
// optionally a network namespace. A System manifest includes it (include:
// [tenants/alice.yaml] puts it in tenants) or lists it in tenants itself.
//
// Its keys keep the cluster guide's spelling (snapshot_interval,
// memory_limit), so that its documents load as they are written.
type UserProfile struct {
	APIVersion string          `yaml:"apiVersion,omitempty" doc:"v1 (or cairn/v1). Required in a file of its own; may be left out in a System's tenants list."`
	Kind       string          `yaml:"kind,omitempty" doc:"UserProfile. Required in a file of its own; may be left out in a System's tenants list."`
	Metadata   ProfileMetadata `yaml:"metadata" doc:"Who the tenant is."`
	Spec       ProfileSpec     `yaml:"spec,omitempty" doc:"What the tenant gets on the node."`
}

// ProfileMetadata names the tenant.
type ProfileMetadata struct {
	Name    string `yaml:"name" doc:"The tenant's user name (and group): lower-case letters, digits, _ and -."`
	Version string `yaml:"version,omitempty" doc:"The profile's own version, free text shown by cairn tenants."`
}

// ProfileSpec is what a tenant gets.
type ProfileSpec struct {
	User       ProfileUser       `yaml:"user,omitempty" doc:"The tenant's account: id, groups and SSH keys."`
	Filesystem ProfileFilesystem `yaml:"filesystem,omitempty" doc:"The tenant's home: its own btrfs subvolume, quota and snapshots."`
	Services   ProfileServices   `yaml:"services,omitempty" doc:"The tenant's services and the cgroup limits on them and on its login sessions."`
	Network    ProfileNetwork    `yaml:"network,omitempty" doc:"A network namespace of the tenant's own for its services."`
}

// ProfileUser is the tenant's account. Its name is metadata.name, its
// primary group a group of the same name, its home /home/NAME.
type ProfileUser struct {
	UID               *int     `yaml:"uid,omitempty" doc:"User id (and the id of its group); the next free one from 1000 when empty."`
	Groups            []string `yaml:"groups,omitempty" doc:"Supplementary groups."`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys,omitempty" doc:"The keys the tenant logs in with over SSH: its only way in (sshd reads them from the generation, so a new generation changes them)."`
	Shell             string   `yaml:"shell,omitempty" doc:"Login shell, /bin/sh by default."`
	Gecos             string   `yaml:"gecos,omitempty" doc:"Full name or comment."`
}

// ProfileFilesystem is the tenant's home.
type ProfileFilesystem struct {
	Subvolume         bool   `yaml:"subvolume,omitempty" doc:"The home /home/NAME is a persistent btrfs subvolume of its own (needed for quota and snapshots)."`
	Quota             string `yaml:"quota,omitempty" doc:"Most data the home may hold: 50G, 500M (K, M, G, T: powers of 1024). Writing past it fails with EDQUOT."`
	SnapshotInterval  string `yaml:"snapshot_interval,omitempty" doc:"Take a read-only snapshot of the home this often: 6h, 30m, 1d."`
	SnapshotRetention string `yaml:"snapshot_retention,omitempty" doc:"Which snapshots to keep, as cairn gc's rules: '48h 7d 4w' (the default)."`
}

// ProfileServices are the tenant's services and its limits.
type ProfileServices struct {
	Allowed   []string         `yaml:"allowed,omitempty" doc:"Services (services.define) and containers that are the tenant's: they run under its limits, and services as the tenant unless they name a user."`
	Resources ProfileResources `yaml:"resources,omitempty" doc:"cgroup v2 limits on each of the tenant's services and on all its login sessions together."`
}

// ProfileResources are cgroup v2 limits.
type ProfileResources struct {
	CPUQuota    string `yaml:"cpu_quota,omitempty" doc:"CPUs' worth of time: \"2.0\" is two CPUs, \"0.5\" half of one (cpu.max)."`
	MemoryLimit string `yaml:"memory_limit,omitempty" doc:"Most memory: 4G, 512M (memory.max); past it the kernel reclaims, then kills inside the cgroup."`
	PidsLimit   int    `yaml:"pids_limit,omitempty" doc:"Most processes and threads (pids.max)."`
}

// ProfileNetwork is the tenant's network.
type ProfileNetwork struct {
	Namespace       bool   `yaml:"namespace,omitempty" doc:"The tenant's services run in a network namespace of its own, linked to the node by a veth pair."`
	FirewallProfile string `yaml:"firewall_profile,omitempty" doc:"nftables rules in the namespace: default (answers and outgoing connections only), isolated (loopback only) or open. Needs nftables in packages."`
}

// profileAPIVersions are the apiVersions a UserProfile may have.
var profileAPIVersions = []string{ProfileAPIVersion, APIVersion}

// FirewallProfiles are the profiles a tenant's namespace may have.
var FirewallProfiles = []string{"default", "isolated", "open"}
