//go:build !linux

package tenant

import "errors"

// Netns makes tenants' network namespaces: Linux only.
type Netns struct {
	Dir, Nft string
}

var errNetns = errors.New("network namespaces are only supported on Linux")

func (n *Netns) Ensure(Tenant) error                  { return errNetns }
func (n *Netns) Exists(Tenant) bool                   { return false }
func (n *Netns) RunIn(string, string, []string) error { return errNetns }
