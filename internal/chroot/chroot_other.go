//go:build !linux

package chroot

import (
	"context"
	"errors"
)

func run(context.Context, Command) error {
	return errors.New("running programs in a root is only supported on Linux")
}
