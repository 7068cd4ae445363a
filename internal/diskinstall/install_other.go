//go:build !linux

package diskinstall

import (
	"context"
	"errors"
)

// Install is only supported on Linux.
func Install(context.Context, Options) (*Plan, error) {
	return nil, errors.New("cairn install is only supported on Linux")
}
