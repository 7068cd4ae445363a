// Package chroot runs a program inside a root directory, as a package
// script or a setup script runs: chrooted, with /proc, /sys and /dev
// mounted inside the root.
//
// The mounts are made by a re-executed child (internal/reexec) in a
// private mount namespace: they exist only for that child and the program
// it becomes, and vanish with them however they end, even on kill -9, so
// a build never leaves mounts behind in a root it then renames or deletes.
package chroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
)

// Command is a program to run inside Root.
type Command struct {
	Root string
	// Path is the program, absolute inside the root; Args its argv
	// (Args[0] included).
	Path string
	Args []string
	// Env is the whole environment.
	Env            []string
	Stdout, Stderr io.Writer
}

// ExitError words how a program failed ("exited with error 1").
func ExitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return err
	case ws.Signaled():
		return fmt.Errorf("killed by signal %d (%v)", ws.Signal(), ws.Signal())
	case ws.Exited():
		return fmt.Errorf("exited with error %d", ws.ExitStatus())
	}
	return err
}

// Run runs c and waits for it; cancelling ctx kills it.
func Run(ctx context.Context, c Command) error {
	return run(ctx, c)
}
