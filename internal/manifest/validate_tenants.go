package manifest

import (
	"slices"
	"strconv"
	"strings"
)

// TenantHome is a tenant's home directory.
func TenantHome(name string) string { return "/home/" + name }

func (v *validator) tenants(s *System) {
	names, uids := unique{}, unique{}
	users := map[string]string{}
	for i, u := range s.Users {
		users[u.Name] = keyPath(indexPath("users", i), "name")
		if u.UID != nil {
			uids[strconv.Itoa(*u.UID)] = keyPath(indexPath("users", i), "uid")
		}
	}
	owner := map[string]string{} // service -> the allowed entry naming it
	for i, t := range s.Tenants {
		p := indexPath("tenants", i)
		if t.APIVersion != "" && !slices.Contains(profileAPIVersions, t.APIVersion) {
			v.add(keyPath(p, "apiVersion"), "%s is not supported for a UserProfile (this cairn reads %s)", quoted(t.APIVersion), strings.Join(profileAPIVersions, " or "))
		}
		if t.Kind != "" && t.Kind != KindUserProfile {
			v.add(keyPath(p, "kind"), "%s: a tenant is a %s", quoted(t.Kind), KindUserProfile)
		}
		np := keyPath(keyPath(p, "metadata"), "name")
		name := t.Metadata.Name
		if v.accountName(np, name, "user") {
			switch {
			case name == "root":
				v.add(np, "root cannot be a tenant: a tenant is a user of its own")
			case users[name] != "":
				v.addRef(np, users[name], "%s is declared in users too: declare the tenant's account in its profile only (spec.user)", quoted(name))
			default:
				names.seen(v, np, name, "tenant")
			}
		}
		v.profileUser(keyPath(keyPath(p, "spec"), "user"), t.Spec.User, uids)
		v.profileFilesystem(keyPath(keyPath(p, "spec"), "filesystem"), t.Spec.Filesystem)
		v.profileServices(keyPath(keyPath(p, "spec"), "services"), t.Spec.Services, s, owner)
		np = keyPath(keyPath(p, "spec"), "network")
		if fp := t.Spec.Network.FirewallProfile; fp != "" {
			switch {
			case !slices.Contains(FirewallProfiles, fp):
				v.add(keyPath(np, "firewall_profile"), "%s is not a firewall profile (use %s)", quoted(fp), oneOf(FirewallProfiles))
			case !t.Spec.Network.Namespace:
				v.add(keyPath(np, "firewall_profile"), "a firewall profile applies to the tenant's network namespace: set namespace: true")
			}
		}
	}
}

func (v *validator) profileUser(p string, u ProfileUser, uids unique) {
	v.id(keyPath(p, "uid"), u.UID, "uid")
	if u.UID != nil {
		switch {
		case *u.UID == 0:
			v.add(keyPath(p, "uid"), "uid 0 is root: a tenant is a user of its own; leave uid out for the next free one")
		case *u.UID > 0 && *u.UID <= maxID:
			uids.seen(v, keyPath(p, "uid"), strconv.Itoa(*u.UID), "uid")
		}
	}
	groups := unique{}
	for j, g := range u.Groups {
		gp := indexPath(keyPath(p, "groups"), j)
		if v.accountName(gp, g, "group") {
			groups.seen(v, gp, g, "group")
		}
	}
	for j, k := range u.SSHAuthorizedKeys {
		v.sshKey(indexPath(keyPath(p, "ssh_authorized_keys"), j), k)
	}
	v.optAbsPath(keyPath(p, "shell"), u.Shell, "/bin/sh")
	if strings.ContainsAny(u.Gecos, ":\n\x00") {
		v.add(keyPath(p, "gecos"), "cannot contain ':' or a newline (they separate /etc/passwd fields and lines)")
	}
}

func (v *validator) profileFilesystem(p string, f ProfileFilesystem) {
	needSubvolume := func(key string) {
		if !f.Subvolume {
			v.add(keyPath(p, key), "needs the home to be a subvolume of its own: set subvolume: true")
		}
	}
	if f.Quota != "" {
		if _, err := ParseSize(f.Quota); err != nil {
			v.add(keyPath(p, "quota"), "%v", err)
		}
		needSubvolume("quota")
	}
	if f.SnapshotInterval != "" {
		if _, err := ParseInterval(f.SnapshotInterval); err != nil {
			v.add(keyPath(p, "snapshot_interval"), "%v", err)
		}
		needSubvolume("snapshot_interval")
	}
	if f.SnapshotRetention != "" {
		if msg := retentionProblem(f.SnapshotRetention); msg != "" {
			v.add(keyPath(p, "snapshot_retention"), "%s", msg)
		}
		if f.SnapshotInterval == "" {
			v.add(keyPath(p, "snapshot_retention"), "keeps snapshots that snapshot_interval takes: give snapshot_interval too")
		}
	}
}

func (v *validator) profileServices(p string, svc ProfileServices, s *System, owner map[string]string) {
	for j, name := range svc.Allowed {
		ap := indexPath(keyPath(p, "allowed"), j)
		_, defined := s.Services.Define[name]
		_, container := s.Containers[name]
		switch {
		case !defined && !container:
			msg := quoted(name) + " is neither a service of services.define nor a container (a tenant's services are declared in the system manifest)"
			if d := Closest(name, append(sortedKeys(s.Services.Define), sortedKeys(s.Containers)...)); d != "" {
				msg += "; did you mean " + d + "?"
			}
			v.add(ap, "%s", msg)
		case owner[name] != "":
			v.addRef(ap, owner[name], "%s is allowed to another tenant already: a service belongs to one tenant", quoted(name))
		default:
			owner[name] = ap
		}
	}
	rp := keyPath(p, "resources")
	if q := svc.Resources.CPUQuota; q != "" {
		if _, err := ParseCPUQuota(q); err != nil {
			v.add(keyPath(rp, "cpu_quota"), "%v", err)
		}
	}
	if m := svc.Resources.MemoryLimit; m != "" {
		if _, err := ParseSize(m); err != nil {
			v.add(keyPath(rp, "memory_limit"), "%v", err)
		}
	}
	if svc.Resources.PidsLimit < 0 {
		v.add(keyPath(rp, "pids_limit"), "%d is negative: give the most processes the tenant may have", svc.Resources.PidsLimit)
	}
}
