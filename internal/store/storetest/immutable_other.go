//go:build !linux

package storetest

import "errors"

func setImmutable(string, bool) error {
	return errors.New("inode attributes are only supported on Linux")
}
