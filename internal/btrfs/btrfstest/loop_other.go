//go:build !linux

package btrfstest

import "errors"

var errNotLinux = errors.New("loop devices are only supported on Linux")

func mountLoop(image, mnt string) (string, error) { return "", errNotLinux }
func unmountLoop(mnt, dev, image string) error    { return errNotLinux }
