package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Node is a booted system where the plan is applied. Its fields are the
// places and the side effects of the real node; tests point them into
// temporary directories and stand-ins.
type Node struct {
	// Root is the booted system's root ("/"): the plan and the homes are
	// read below it.
	Root string
	// Cgroups is the cgroup2 mount (/sys/fs/cgroup).
	Cgroups string
	// Store is the top of the store's btrfs (/run/cairn/store), where
	// the homes' snapshots go.
	Store string
	// Netns is where named network namespaces are (/run/netns).
	Netns string
	// Quotas sets and reads the homes' quotas.
	Quotas Quotas
	// Network makes network namespaces; nil leaves them out.
	Network Network
	// IsCgroup2 reports whether a directory is a cgroup2 mount.
	IsCgroup2 func(dir string) (bool, error)
	// Now is the clock.
	Now func() time.Time
}

// Quotas are the btrfs operations on homes (btrfsQuotas on Linux).
type Quotas interface {
	// Subvolume returns the id of the subvolume whose root is dir, or an
	// error when dir is not one.
	Subvolume(dir string) (uint64, error)
	// Enable turns quotas on for the file system holding dir, when off,
	// and says which kind it uses: "simple" or "qgroups".
	Enable(dir string) (string, error)
	// SetLimit and Limit set and read the referenced-bytes limit of a
	// subvolume's quota group.
	SetLimit(dir string, id, bytes uint64) error
	Limit(dir string, id uint64) (uint64, error)
	// Usage is what the subvolume holds, in bytes.
	Usage(dir string, id uint64) (uint64, error)
	// Snapshot makes a read-only snapshot of the subvolume src at dst;
	// Delete removes one.
	Snapshot(src, dst string) error
	Delete(path string) error
}

// Network makes a tenant's network namespace (see netns_linux.go).
type Network interface {
	// Ensure makes the namespace t.Namespace with its link to the node,
	// and loads its firewall profile; done again, it changes nothing.
	Ensure(t Tenant) error
	// Exists reports whether the namespace is there.
	Exists(t Tenant) bool
	// RunIn replaces the running program by argv in the namespace ns,
	// as the user who (NAME or NAME:GROUP).
	RunIn(ns, who string, argv []string) error
}

// ReadPlan reads the plan of the generation rooted at root; a generation
// without tenants or limits has none, which is an empty plan.
func ReadPlan(root string) (Plan, error) {
	var p Plan
	data, err := os.ReadFile(filepath.Join(root, layout.TenantsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("%s: %w", layout.TenantsFile, err)
	}
	return p, nil
}

func (n *Node) cgroup(rel string) string { return filepath.Join(n.Cgroups, filepath.FromSlash(rel)) }

func (n *Node) home(t Tenant) string { return filepath.Join(n.Root, filepath.FromSlash(t.Home)) }

// Apply puts the plan into effect at boot: each tenant's cgroup for its
// login sessions with its limits (the controllers enabled from the top
// of the hierarchy down), the quota of each home, and each network
// namespace. It does all it can and returns every problem.
func (n *Node) Apply(p Plan) error {
	var errs []error
	if len(p.Tenants) > 0 {
		if err := n.applyCgroups(p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range p.Tenants {
		if t.QuotaBytes > 0 {
			if err := n.applyQuota(t); err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: quota: %w", t.Name, err))
			}
		}
		if t.Namespace != "" {
			if n.Network == nil {
				errs = append(errs, fmt.Errorf("tenant %s: network namespaces are not supported here", t.Name))
			} else if err := n.Network.Ensure(t); err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: network namespace %s: %w", t.Name, t.Namespace, err))
			}
		}
	}
	return errors.Join(errs...)
}

// controllers are the cgroup controllers the tenants' limits need, in
// the kernel's order.
func controllers(p Plan) []string {
	var out []string
	for _, c := range []string{"cpu", "memory", "pids"} {
		if slices.ContainsFunc(p.Tenants, func(t Tenant) bool {
			for file := range t.Limits {
				if strings.HasPrefix(file, c+".") {
					return true
				}
			}
			return false
		}) {
			out = append(out, c)
		}
	}
	return out
}

func (n *Node) applyCgroups(p Plan) error {
	if n.IsCgroup2 != nil {
		ok, err := n.IsCgroup2(n.Cgroups)
		if err != nil {
			return fmt.Errorf("cgroups: %w", err)
		}
		if !ok {
			return fmt.Errorf("%s is not a cgroup2 mount: OpenRC's cgroups service mounts it in sysinit (rc_cgroup_mode unified)", n.Cgroups)
		}
	}
	need := controllers(p)
	// From the top down: a controller reaches a cgroup only when every
	// ancestor hands it on in cgroup.subtree_control.
	if err := n.enable(n.Cgroups, need); err != nil {
		return err
	}
	parent := n.cgroup(CgroupParent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	if err := n.enable(parent, need); err != nil {
		return err
	}
	var errs []error
	for _, t := range p.Tenants {
		dir := n.cgroup(t.Cgroup)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Name, err))
			continue
		}
		for _, file := range sortedKeys(t.Limits) {
			if err := writeCgroupFile(filepath.Join(dir, file), t.Limits[file]); err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: %w", t.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// enable hands the controllers on to the children of the cgroup dir.
func (n *Node) enable(dir string, need []string) error {
	have, err := readWords(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	available, err := readWords(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	var add []string
	for _, c := range need {
		if slices.Contains(have, c) {
			continue
		}
		if !slices.Contains(available, c) {
			return fmt.Errorf("the %s controller is not available in %s (cgroup.controllers: %q): is it disabled on the kernel command line (cgroup_disable=%s)?", c, dir, strings.Join(available, " "), c)
		}
		add = append(add, "+"+c)
	}
	if len(add) == 0 {
		return nil
	}
	return writeCgroupFile(filepath.Join(dir, "cgroup.subtree_control"), strings.Join(add, " "))
}

// writeCgroupFile writes one value into a cgroup file, as one write.
func writeCgroupFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(value)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, werr)
	}
	return cerr
}

func readWords(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data)), nil
}

func (n *Node) applyQuota(t Tenant) error {
	home := n.home(t)
	id, err := n.Quotas.Subvolume(home)
	if err != nil {
		return fmt.Errorf("%s is not a btrfs subvolume of its own (filesystem.subvolume needs the store on btrfs): %w", t.Home, err)
	}
	if _, err := n.Quotas.Enable(home); err != nil {
		return err
	}
	return n.Quotas.SetLimit(home, id, t.QuotaBytes)
}

// Problem is a limit that did not take effect.
type Problem struct {
	Owner string `json:"owner"`
	Key   string `json:"key"`
	What  string `json:"what"`
}

func (p Problem) String() string { return p.Owner + " (" + p.Key + "): " + p.What }

// Check reads every limit of the plan back, as the trial does: a limit
// that did not take effect is a problem, whatever was supposed to apply
// it (OpenRC skips a setting whose controller is not enabled, without a
// word). It returns the problems found, none when every limit holds.
func (n *Node) Check(p Plan) []Problem {
	var out []Problem
	for _, l := range p.Limits {
		if what := n.checkLimit(l); what != "" {
			out = append(out, Problem{Owner: l.Owner, Key: l.Key, What: what})
		}
	}
	for i, t := range p.Tenants {
		key := "tenants[" + strconv.Itoa(i) + "]"
		if t.QuotaBytes > 0 {
			if what := n.checkQuota(t); what != "" {
				out = append(out, Problem{Owner: "tenant " + t.Name, Key: key + ".spec.filesystem.quota", What: what})
			}
		}
		if t.Namespace != "" && (n.Network == nil || !n.Network.Exists(t)) {
			out = append(out, Problem{Owner: "tenant " + t.Name, Key: key + ".spec.network.namespace", What: "network namespace " + t.Namespace + " does not exist"})
		}
	}
	return out
}

func (n *Node) checkLimit(l Limit) string {
	dir := n.cgroup(l.Cgroup)
	path := filepath.Join(dir, l.File)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, derr := os.Stat(dir); derr != nil {
			return fmt.Sprintf("no cgroup %s: not running, or OpenRC put it in no cgroup (its cgroups service must be in sysinit)", dir)
		}
		controller, _, _ := strings.Cut(l.File, ".")
		return fmt.Sprintf("%s %s is not set in %s: the %s controller is not enabled there (cgroup_disable=%s?)", l.File, l.Value, dir, controller, controller)
	case err != nil:
		return err.Error()
	}
	if got := strings.TrimSpace(string(data)); !sameValue(l.File, l.Value, got) {
		return fmt.Sprintf("%s is %s in %s, not %s", l.File, got, dir, l.Value)
	}
	return ""
}

func (n *Node) checkQuota(t Tenant) string {
	home := n.home(t)
	id, err := n.Quotas.Subvolume(home)
	if err != nil {
		return fmt.Sprintf("%s is not a btrfs subvolume: %v", t.Home, err)
	}
	limit, err := n.Quotas.Limit(home, id)
	switch {
	case err != nil:
		return fmt.Sprintf("no quota on %s: %v", t.Home, err)
	case limit != t.QuotaBytes:
		if limit == 0 {
			return fmt.Sprintf("%s has no quota, not %d bytes", t.Home, t.QuotaBytes)
		}
		return fmt.Sprintf("the quota of %s is %d bytes, not %d", t.Home, limit, t.QuotaBytes)
	}
	return ""
}

// SSHSession is sshd's AuthorizedKeysCommand for a tenant: it moves the
// process pid (the connection's privileged sshd, whose children run the
// session) into the tenant's cgroup, then writes the tenant's keys to w.
// A user who is no tenant gets no keys; a tenant whose connection cannot
// be moved gets none either, and the login fails: a tenant never runs
// outside its limits.
func (n *Node) SSHSession(p Plan, user string, pid int, w io.Writer) error {
	i := slices.IndexFunc(p.Tenants, func(t Tenant) bool { return t.Name == user })
	if i < 0 {
		return nil
	}
	t := p.Tenants[i]
	procs := filepath.Join(n.cgroup(t.Cgroup), "cgroup.procs")
	if err := writeCgroupFile(procs, strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("tenant %s: put the ssh connection (pid %d) into %s: %w", t.Name, pid, procs, err)
	}
	for _, k := range t.Keys {
		if _, err := fmt.Fprintln(w, k); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
