//go:build !linux

package sandbox

import (
	"context"
	"errors"
)

func run(context.Context, Command) error {
	return errors.New("running programs in a sandbox is only supported on Linux")
}
