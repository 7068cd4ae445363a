package tenant

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// HealthCheckName names the trial's check that every limit took effect.
const HealthCheckName = "limits"

// Expand returns a copy of sys (valid, defaults applied) with what its
// tenants and limits imply written out the way a manifest would write it,
// for the build to make like anything else, and the plan the node follows:
//
//   - each tenant's account (group of its name, home /home/NAME) and, with
//     filesystem.subvolume, the home in persist (cairn-init makes a
//     persistent directory a subvolume of its own);
//   - on each allowed service and container the tenant's resources as
//     cgroup settings (the service's own win), and the tenant as the
//     service's user when it names none;
//   - OpenRC's cgroups service in sysinit (without it cgroup2 is not
//     mounted and OpenRC skips every rc_cgroup_settings), the plan in
//     layout.TenantsFile, the check "limits" that reads every limit back during the
//     trial: with tenants, or with limits in a system that boots (has a
//     kernel);
//   - with tenants, the boot service that applies the plan, sshd's lookup
//     of the tenants' keys, and with snapshots the service taking them.
//
// sys itself is not changed: the generation's manifest digest stays that
// of what was written.
func Expand(sys *manifest.System) (*manifest.System, Plan) {
	eff := sys.Clone()
	from := map[string]string{}
	for i, pr := range eff.Tenants {
		expandTenant(eff, i, pr, from)
	}
	plan := makePlan(eff, from)
	if len(plan.Tenants) == 0 && (len(plan.Limits) == 0 || eff.Kernel.Package == "") {
		// A root without a kernel (a container's image, a chroot) is
		// started by another system's init and cgroups: its limits stay
		// in its scripts, for whatever runs them.
		return eff, plan
	}
	data, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		panic("tenant: plan: " + err.Error())
	}
	addFile(eff, layout.TenantsFile, string(data)+"\n", manifest.DefaultFileMode)
	if !inAnyRunlevel(eff, "cgroups") {
		addToRunlevel(eff, "sysinit", "cgroups")
	}
	if len(plan.Limits) > 0 {
		eff.Health = append(eff.Health, manifest.HealthCheck{Name: HealthCheckName, Command: layout.CairnBinary + " tenants check", Timeout: "15s"})
	}
	if len(plan.Tenants) == 0 {
		return eff, plan
	}
	addFile(eff, manifest.InitDir+"/"+ApplyService, applyScript, manifest.DefaultExecMode)
	addToRunlevel(eff, "boot", ApplyService)
	addFile(eff, layout.TenantsSSHDropIn, sshDropIn(plan.Tenants), manifest.DefaultFileMode)
	if slices.ContainsFunc(plan.Tenants, func(t Tenant) bool { return t.SnapshotEverySeconds > 0 }) {
		addFile(eff, manifest.InitDir+"/"+SnapshotService, snapshotScript, manifest.DefaultExecMode)
		addToRunlevel(eff, "default", SnapshotService)
	}
	return eff, plan
}

// expandTenant adds what the tenant i implies to eff, and records in from
// the key of each limit it puts on a service (limitID).
func expandTenant(eff *manifest.System, i int, pr manifest.UserProfile, from map[string]string) {
	name := pr.Metadata.Name
	u := manifest.User{
		Name:   name,
		UID:    pr.Spec.User.UID,
		Group:  name,
		Groups: slices.Clone(pr.Spec.User.Groups),
		Home:   manifest.TenantHome(name),
		Shell:  pr.Spec.User.Shell,
		Gecos:  pr.Spec.User.Gecos,
	}
	if u.Shell == "" {
		u.Shell = manifest.DefaultShell
	}
	if len(pr.Spec.User.SSHAuthorizedKeys) > 0 {
		// No password, but not locked: Alpine's sshd (no PAM) refuses
		// every login to a locked account. The keys are not written to
		// ~/.ssh: sshd gets them from cairn (sshDropIn).
		u.PasswordHash = "*"
	}
	eff.Users = append(eff.Users, u)
	if pr.Spec.Filesystem.Subvolume && !slices.Contains(eff.Persist, u.Home) {
		eff.Persist = append(eff.Persist, u.Home)
	}
	limits := resourceLimits(pr.Spec.Services.Resources)
	key := resourcesKey(i)
	for _, svc := range pr.Spec.Services.Allowed {
		if s, ok := eff.Services.Define[svc]; ok {
			s.Cgroup = withLimits(s.Cgroup, limits, svc, key, from)
			if s.User == "" {
				s.User = name
			}
			if pr.Spec.Network.Namespace {
				s = runInNamespace(s, NamespaceName(name))
			}
			eff.Services.Define[svc] = s
		}
		if c, ok := eff.Containers[svc]; ok {
			c.Cgroup = withLimits(c.Cgroup, limits, svc, key, from)
			eff.Containers[svc] = c
		}
	}
}

// runInNamespace has cairn start the service's program in the network
// namespace ns: entering it needs root, so cairn is started as root and
// becomes the service's user itself (cairn tenants run).
func runInNamespace(s manifest.Service, ns string) manifest.Service {
	who := s.User
	if s.Group != "" {
		who += ":" + s.Group
	}
	s.Args = append([]string{"tenants", "run", "--netns", ns, "--user", who, "--", s.Command}, s.Args...)
	s.Command = layout.CairnBinary
	s.User, s.Group = "", ""
	return s
}

// withLimits returns a service's own cgroup settings completed by its
// tenant's limits (its own win), recording in from where each limit it
// added is written.
func withLimits(own, limits map[string]string, service, key string, from map[string]string) map[string]string {
	if len(limits) == 0 {
		return own
	}
	out := maps.Clone(own)
	if out == nil {
		out = map[string]string{}
	}
	for file, value := range limits {
		if _, ok := out[file]; !ok {
			out[file] = value
			from[limitID(service, file)] = key
		}
	}
	return out
}

// limitID names a service's limit in the map of where limits come from.
func limitID(service, file string) string { return service + " " + file }

func addFile(eff *manifest.System, path, content, mode string) {
	eff.Files.Inline = append(eff.Files.Inline, manifest.InlineFile{Path: path, Content: content, Mode: mode, Owner: manifest.DefaultOwner})
}

func inAnyRunlevel(eff *manifest.System, service string) bool {
	for _, list := range eff.Services.Runlevels {
		if slices.Contains(list, service) {
			return true
		}
	}
	return false
}

func addToRunlevel(eff *manifest.System, level, service string) {
	if eff.Services.Runlevels == nil {
		eff.Services.Runlevels = map[string][]string{}
	}
	if !slices.Contains(eff.Services.Runlevels[level], service) {
		eff.Services.Runlevels[level] = append(eff.Services.Runlevels[level], service)
	}
}

const applyScript = `#!/sbin/openrc-run
# Written by cairn from the manifest's tenants.
description="Apply the tenants' cgroups, home quotas and network namespaces"

depend() {
	after localmount cgroups
	before sshd
}

start() {
	ebegin "Applying the tenants' limits"
	` + layout.CairnBinary + ` tenants apply
	eend $?
}
`

const snapshotScript = `#!/sbin/openrc-run
# Written by cairn from the manifest's tenants.
description="Snapshots of the tenants' homes"
supervisor=supervise-daemon
command=` + layout.CairnBinary + `
command_args="tenants snapshot --daemon"
output_log=/var/log/cairn-snapshots.log
error_log=/var/log/cairn-snapshots.log

depend() {
	after ` + ApplyService + `
}
`

// sshDropIn makes sshd take the tenants' keys from cairn, which first
// moves the connection's privileged sshd process (the parent of
// everything the session runs) into the tenant's cgroup, and accept only
// those keys: a session that cairn could not confine gets no key.
func sshDropIn(tenants []Tenant) string {
	names := make([]string, len(tenants))
	for i, t := range tenants {
		names[i] = t.Name
	}
	return `# Written by cairn from the manifest's tenants: sshd asks cairn for a
# tenant's keys (the manifest's), and cairn first puts the connection into
# the tenant's cgroup, so that the whole session runs under its limits.
Match User ` + strings.Join(names, ",") + `
	AuthorizedKeysFile none
	AuthorizedKeysCommand ` + layout.CairnBinary + ` tenants ssh-session %u
	AuthorizedKeysCommandUser root
	AuthenticationMethods publickey
`
}
