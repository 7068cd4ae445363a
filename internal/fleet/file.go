package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/cairnlinux/cairn/internal/remote"
)

// File is a fleet file (kind: Fleet): the nodes, how to reach them, and
// how a rollout proceeds through them.
type File struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// FleetLock is the FleetLock server's base URL, if the fleet has one.
	FleetLock string `yaml:"fleetlock,omitempty"`
	// SSH is the ssh command and options (default ["ssh"]); Cairn the
	// cairn command on the nodes (default ["cairn"]).
	SSH   []string   `yaml:"ssh,omitempty"`
	Cairn []string   `yaml:"cairn,omitempty"`
	Nodes []NodeSpec `yaml:"nodes"`
	// Rollout says how `cairn rollout` proceeds (defaults when absent).
	Rollout RolloutSpec `yaml:"rollout,omitempty"`
}

// NodeSpec is one node of a fleet file.
type NodeSpec struct {
	Name string `yaml:"name"`
	// Address is ssh://[user@]host[:port][/store].
	Address string `yaml:"address"`
	// Group is the node's FleetLock reboot group (default "default"),
	// LockID its FleetLock id (default: its name).
	Group  string `yaml:"group,omitempty"`
	LockID string `yaml:"lockId,omitempty"`
	// Groups are the node's rollout groups (names `rollout.order` can
	// use besides node names).
	Groups []string `yaml:"groups,omitempty"`
	// Host is the node's name or address for outside checks (default:
	// the address's host).
	Host string `yaml:"host,omitempty"`
}

var nodeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// Load reads and checks a fleet file: unknown keys are errors, and every
// problem is reported with the node it concerns.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// Check checks a fleet file made in code, and applies its defaults.
func (f *File) Check() error { return f.check() }

func (f *File) check() error {
	var errs []error
	if f.APIVersion != "cairn/v1" || f.Kind != "Fleet" {
		errs = append(errs, fmt.Errorf("apiVersion: cairn/v1 and kind: Fleet are needed (got %q, %q)", f.APIVersion, f.Kind))
	}
	if len(f.Nodes) == 0 {
		errs = append(errs, errors.New("nodes: a fleet needs at least one node"))
	}
	seen := map[string]bool{}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		where := fmt.Sprintf("nodes[%d]", i)
		if !nodeName.MatchString(n.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q is not a node name (letters, digits, '.', '_', '-')", where, n.Name))
		} else if seen[n.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %s is named twice", where, n.Name))
		}
		seen[n.Name] = true
		if _, err := remote.ParseSSH(n.Address); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s).address: %w", where, n.Name, err))
		}
		for _, g := range n.Groups {
			if !nodeName.MatchString(g) {
				errs = append(errs, fmt.Errorf("%s (%s).groups: %q is not a group name (letters, digits, '.', '_', '-')", where, n.Name, g))
			}
		}
		if n.Group == "" {
			n.Group = "default"
		}
		if a, err := remote.ParseSSH(n.Address); err == nil && n.Host == "" {
			n.Host = a.Host
		}
		if n.LockID == "" {
			n.LockID = n.Name
		}
	}
	errs = append(errs, f.Rollout.check(f)...)
	return errors.Join(errs...)
}
