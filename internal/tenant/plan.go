// Package tenant puts a node's tenants (kind: UserProfile) and the cgroup
// limits of its services into effect and checks that they took: at build
// time it spells out what the tenants imply (accounts, persistent homes,
// limits on their services, the boot service that applies the rest, sshd's
// lookup of their keys) and records the plan in the generation; on the
// node it applies the plan at boot (cgroups, home quotas, network
// namespaces), reads every limit back during the trial, snapshots homes,
// and reports usage against limits. See docs/tenants.md.
package tenant

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// Paths of the plan on the node.
const (
	// CgroupParent is the cgroup, below the cgroup2 mount, that holds
	// one cgroup per tenant for its login sessions.
	CgroupParent = "/tenants"
	// ApplyService is the OpenRC service that applies the plan at boot.
	ApplyService = "cairn-tenants"
	// SnapshotService takes the homes' snapshots.
	SnapshotService = "cairn-snapshots"
)

// Plan is what a node does for its tenants and limits, recorded at
// layout.TenantsFile.
type Plan struct {
	Tenants []Tenant `json:"tenants"`
	// Limits are every cgroup limit the generation declares on a service
	// started at boot or on a tenant's sessions: the trial reads each
	// back.
	Limits []Limit `json:"limits"`
}

// Tenant is one tenant as the node needs it.
type Tenant struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Home    string `json:"home"`
	// Subvolume: the home is a persistent subvolume of its own.
	Subvolume bool `json:"subvolume"`
	// QuotaBytes limits the home's referenced bytes; 0 is none.
	QuotaBytes uint64 `json:"quotaBytes,omitempty"`
	// SnapshotEverySeconds is the snapshot interval; 0 takes none.
	SnapshotEverySeconds int64  `json:"snapshotEverySeconds,omitempty"`
	SnapshotRetention    string `json:"snapshotRetention,omitempty"`
	// Cgroup holds the tenant's login sessions, below the cgroup2 mount.
	Cgroup string `json:"cgroup"`
	// Limits are the tenant's resources as cgroup files and values.
	Limits   map[string]string `json:"limits,omitempty"`
	Services []string          `json:"services,omitempty"`
	// Keys are the SSH keys sshd accepts for the tenant.
	Keys []string `json:"sshAuthorizedKeys,omitempty"`
	// Namespace names the tenant's network namespace (/run/netns/NAME);
	// empty when it has none.
	Namespace string `json:"namespace,omitempty"`
	Firewall  string `json:"firewall,omitempty"`
	// Index is the tenant's place in the manifest, which numbers its
	// namespace's addresses.
	Index int `json:"index"`
}

// Limit is one cgroup setting to read back.
type Limit struct {
	// Owner says whose it is: "service web", "tenant alice".
	Owner string `json:"owner"`
	// Key is the manifest key that asks for it.
	Key string `json:"key"`
	// Cgroup is the cgroup, below the cgroup2 mount: /openrc.web.
	Cgroup string `json:"cgroup"`
	File   string `json:"file"`
	Value  string `json:"value"`
}

// SnapshotEvery is the tenant's snapshot interval.
func (t Tenant) SnapshotEvery() time.Duration {
	return time.Duration(t.SnapshotEverySeconds) * time.Second
}

// ServiceCgroup is the cgroup OpenRC gives a service (rc_cgroup_mode
// unified: /sys/fs/cgroup/openrc.NAME).
func ServiceCgroup(name string) string { return "/openrc." + name }

// NamespaceName is the name of a tenant's network namespace.
func NamespaceName(tenant string) string { return "tenant-" + tenant }

// bootRunlevels are the runlevels whose services run when a trial is
// checked.
var bootRunlevels = []string{"sysinit", "boot", "default"}

// resourceLimits turns a tenant's resources into cgroup files and values.
// Validate first: values that do not parse are left out.
func resourceLimits(r manifest.ProfileResources) map[string]string {
	out := map[string]string{}
	if r.CPUQuota != "" {
		if q, err := manifest.ParseCPUQuota(r.CPUQuota); err == nil {
			out["cpu.max"] = strconv.FormatUint(q, 10) + " " + strconv.Itoa(manifest.CPUPeriod)
		}
	}
	if r.MemoryLimit != "" {
		if b, err := manifest.ParseSize(r.MemoryLimit); err == nil {
			out["memory.max"] = strconv.FormatUint(b, 10)
		}
	}
	if r.PidsLimit > 0 {
		out["pids.max"] = strconv.Itoa(r.PidsLimit)
	}
	return out
}

// resourcesKey is the manifest key of the tenant i's resources.
func resourcesKey(i int) string {
	return manifest.KeyPath(manifest.IndexPath("tenants", i), "spec") + ".services.resources"
}

// makePlan works out the plan of a system whose tenants were expanded:
// its tenants, and the limits of every service and container that starts
// at boot and of every tenant's sessions. from says which limits of a
// service its tenant gave (limitID -> key).
func makePlan(sys *manifest.System, from map[string]string) Plan {
	p := Plan{Tenants: []Tenant{}, Limits: []Limit{}}
	for i, pr := range sys.Tenants {
		t := Tenant{
			Name:      pr.Metadata.Name,
			Version:   pr.Metadata.Version,
			Home:      manifest.TenantHome(pr.Metadata.Name),
			Subvolume: pr.Spec.Filesystem.Subvolume,
			Cgroup:    CgroupParent + "/" + pr.Metadata.Name,
			Limits:    resourceLimits(pr.Spec.Services.Resources),
			Services:  slices.Clone(pr.Spec.Services.Allowed),
			Keys:      slices.Clone(pr.Spec.User.SSHAuthorizedKeys),
			Firewall:  pr.Spec.Network.FirewallProfile,
			Index:     i,
		}
		if q := pr.Spec.Filesystem.Quota; q != "" {
			t.QuotaBytes, _ = manifest.ParseSize(q)
		}
		if iv := pr.Spec.Filesystem.SnapshotInterval; iv != "" {
			d, _ := manifest.ParseInterval(iv)
			t.SnapshotEverySeconds = int64(d / time.Second)
			t.SnapshotRetention = pr.Spec.Filesystem.SnapshotRetention
			if t.SnapshotRetention == "" {
				t.SnapshotRetention = manifest.DefaultSnapshotRetention
			}
		}
		if pr.Spec.Network.Namespace {
			t.Namespace = NamespaceName(t.Name)
		}
		p.Tenants = append(p.Tenants, t)
		key := resourcesKey(i)
		for _, file := range slices.Sorted(maps.Keys(t.Limits)) {
			p.Limits = append(p.Limits, Limit{Owner: "tenant " + t.Name, Key: key, Cgroup: t.Cgroup, File: file, Value: t.Limits[file]})
		}
	}
	started := map[string]bool{}
	for _, level := range bootRunlevels {
		for _, s := range sys.Services.Runlevels[level] {
			started[s] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sys.Services.Define)) {
		if started[name] {
			p.Limits = append(p.Limits, serviceLimits("service "+name, manifest.KeyPath("services.define", name), name, sys.Services.Define[name].Cgroup, from)...)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sys.Containers)) {
		c := sys.Containers[name]
		if started[name] || slices.Contains(bootRunlevels, c.Runlevel) {
			p.Limits = append(p.Limits, serviceLimits("container "+name, manifest.KeyPath("containers", name), name, c.Cgroup, from)...)
		}
	}
	return p
}

func serviceLimits(owner, key, service string, cgroup map[string]string, from map[string]string) []Limit {
	var out []Limit
	for _, file := range slices.Sorted(maps.Keys(cgroup)) {
		k := from[limitID(service, file)]
		if k == "" {
			k = manifest.KeyPath(manifest.KeyPath(key, "cgroup"), file)
		}
		out = append(out, Limit{Owner: owner, Key: k, Cgroup: ServiceCgroup(service), File: file, Value: cgroup[file]})
	}
	return out
}
