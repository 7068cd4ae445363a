//go:build !linux

package liveroot

import "errors"

// Swap needs Linux's mount API.
func Swap(n int, warn func(string)) error {
	return errors.New("a live switch needs Linux")
}

// KernelRelease is unknown off Linux.
func KernelRelease() string { return "" }
