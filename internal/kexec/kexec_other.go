//go:build !linux

package kexec

import (
	"context"
	"errors"
	"io"
)

var errNotLinux = errors.New("kexec needs Linux")

// Available: kexec is Linux's.
func Available() error { return errors.Join(ErrUnavailable, errNotLinux) }

// Load needs Linux.
func Load(Image) error { return errNotLinux }

// Unload needs Linux.
func Unload() error { return errNotLinux }

// Loaded is false off Linux.
func Loaded() bool { return false }

// Detach needs Linux.
func Detach([]string) error { return errNotLinux }

// System is the running system; off Linux it can do nothing.
type System struct {
	ShutdownCommand []string
	Output          io.Writer
}

func (System) Shutdown(context.Context) error { return errNotLinux }
func (System) Sync()                          {}
func (System) Kexec() error                   { return errNotLinux }
func (System) Restart() error                 { return errNotLinux }
