package tenant

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Report is what `cairn tenants` shows: each tenant's home against its
// quota and its sessions and services against their limits.
type Report struct {
	Tenants []TenantReport `json:"tenants"`
	// Services are the other services with limits.
	Services []CgroupReport `json:"services"`
}

// TenantReport is one tenant.
type TenantReport struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Home    string `json:"home"`
	// HomeBytes is what the home holds (its quota group's referenced
	// bytes), when the home is a subvolume with quotas on.
	HomeBytes  *uint64 `json:"homeBytes,omitempty"`
	QuotaBytes uint64  `json:"quotaBytes,omitempty"`
	// Sessions is the cgroup of the tenant's login sessions.
	Sessions  CgroupReport   `json:"sessions"`
	Services  []CgroupReport `json:"services"`
	Namespace string         `json:"namespace,omitempty"`
	Snapshots int            `json:"snapshots,omitempty"`
}

// CgroupReport is a cgroup's use against its limits, read from its
// files; a cgroup that is not there (a service that is not running) has
// Running false and nothing else.
type CgroupReport struct {
	Owner   string `json:"owner"`
	Cgroup  string `json:"cgroup"`
	Running bool   `json:"running"`
	// MemoryBytes is memory.current; MemoryMax memory.max as the kernel
	// says it (bytes or max).
	MemoryBytes uint64 `json:"memoryBytes,omitempty"`
	MemoryMax   string `json:"memoryMax,omitempty"`
	// CPUSeconds is the CPU time used (cpu.stat usage_usec); CPUs the
	// limit in CPUs (cpu.max), 0 for none.
	CPUSeconds float64 `json:"cpuSeconds,omitempty"`
	CPUs       float64 `json:"cpus,omitempty"`
	// Pids is pids.current; nil without the pids controller.
	Pids    *uint64 `json:"pids,omitempty"`
	PidsMax string  `json:"pidsMax,omitempty"`
	// OOMKills counts processes the kernel killed for memory.max.
	OOMKills uint64 `json:"oomKills,omitempty"`
}

// Report reads the node's use of the plan's limits.
func (n *Node) Report(p Plan) Report {
	r := Report{Tenants: []TenantReport{}, Services: []CgroupReport{}}
	owned := map[string]bool{}
	for _, t := range p.Tenants {
		tr := TenantReport{Name: t.Name, Version: t.Version, Home: t.Home, QuotaBytes: t.QuotaBytes, Namespace: t.Namespace,
			Sessions: n.cgroupReport("tenant "+t.Name, t.Cgroup), Services: []CgroupReport{}}
		if t.Subvolume && n.Quotas != nil {
			if id, err := n.Quotas.Subvolume(n.home(t)); err == nil {
				if u, err := n.Quotas.Usage(n.home(t), id); err == nil {
					tr.HomeBytes = &u
				}
			}
			tr.Snapshots = len(n.snapshots(t))
		}
		for _, s := range t.Services {
			owned[ServiceCgroup(s)] = true
			tr.Services = append(tr.Services, n.cgroupReport("service "+s, ServiceCgroup(s)))
		}
		r.Tenants = append(r.Tenants, tr)
	}
	seen := map[string]bool{}
	for _, l := range p.Limits {
		if strings.HasPrefix(l.Owner, "tenant ") || owned[l.Cgroup] || seen[l.Cgroup] {
			continue
		}
		seen[l.Cgroup] = true
		r.Services = append(r.Services, n.cgroupReport(l.Owner, l.Cgroup))
	}
	return r
}

func (n *Node) cgroupReport(owner, cgroup string) CgroupReport {
	c := CgroupReport{Owner: owner, Cgroup: cgroup}
	dir := n.cgroup(cgroup)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return c
	}
	c.Running = true
	read := func(file string) string {
		data, _ := os.ReadFile(filepath.Join(dir, file))
		return strings.TrimSpace(string(data))
	}
	c.MemoryBytes, _ = strconv.ParseUint(read("memory.current"), 10, 64)
	c.MemoryMax = read("memory.max")
	if n, err := strconv.ParseUint(read("pids.current"), 10, 64); err == nil {
		c.Pids = &n
	}
	c.PidsMax = read("pids.max")
	if usec, ok := keyed(filepath.Join(dir, "cpu.stat"), "usage_usec"); ok {
		c.CPUSeconds = float64(usec) / 1e6
	}
	if f := strings.Fields(read("cpu.max")); len(f) == 2 && f[0] != "max" {
		q, err1 := strconv.ParseFloat(f[0], 64)
		per, err2 := strconv.ParseFloat(f[1], 64)
		if err1 == nil && err2 == nil && per > 0 {
			c.CPUs = q / per
		}
	}
	c.OOMKills, _ = keyed(filepath.Join(dir, "memory.events"), "oom_kill")
	return c
}

// keyed reads the value of key in a flat-keyed cgroup file ("key value"
// lines: cpu.stat, memory.events).
func keyed(path, key string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// Tenant returns the plan's tenant name.
func (p Plan) Tenant(name string) (Tenant, bool) {
	i := slices.IndexFunc(p.Tenants, func(t Tenant) bool { return t.Name == name })
	if i < 0 {
		return Tenant{}, false
	}
	return p.Tenants[i], true
}
