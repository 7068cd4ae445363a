//go:build !linux

package deliver

import (
	"context"
	"errors"

	"github.com/cairnlinux/cairn/internal/store"
)

var errNotLinux = errors.New("receiving a generation is only supported on Linux")

type builder struct {
	staging          *store.Staging
	local            map[string]string
	data             any
	received, reused int
}

func (b *builder) build(context.Context, *Listing) error { return errNotLinux }

func (r *Receiver) btrfsProgram() (string, error) { return "", errNotLinux }

func (r *Receiver) receiveBtrfs(context.Context, Source, string, *Listing) (*store.Staging, error) {
	return nil, errNotLinux
}
