//go:build !linux

package tenant

import "errors"

// Booted is the node cairn runs on: tenants need Linux.
func Booted() *Node {
	return &Node{Root: "/", Cgroups: "/sys/fs/cgroup", IsCgroup2: func(string) (bool, error) {
		return false, errors.New("tenants are only supported on Linux")
	}}
}
