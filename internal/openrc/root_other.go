//go:build !linux

package openrc

import "errors"

// openRoot fails on other systems: Install relies on openat2 to stay
// inside the root.
func openRoot(string) (rootFS, error) {
	return nil, errors.New("installing services is only supported on Linux")
}
