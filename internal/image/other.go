//go:build !linux

package image

import (
	"context"
	"errors"
	"time"
)

var errNotLinux = errors.New("images are only supported on Linux")

func walk(context.Context, string, time.Time, WalkFunc) error { return errNotLinux }

func publish(tmp, out string) error { return errNotLinux }

func syncDir(string) error { return errNotLinux }
