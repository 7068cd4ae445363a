package tenant

import (
	"errors"
	"os"
	"path/filepath"
)

// Netns makes the tenants' network namespaces.
type Netns struct {
	// Dir is where named namespaces are bound (/run/netns).
	Dir string
}

func (n *Netns) path(t Tenant) string { return filepath.Join(n.Dir, t.Namespace) }

// Exists reports whether the tenant's namespace is bound in Dir.
func (n *Netns) Exists(t Tenant) bool {
	_, err := os.Stat(n.path(t))
	return err == nil
}

// Ensure makes the tenant's namespace.
func (n *Netns) Ensure(t Tenant) error {
	return errors.New("not yet")
}
