// Package reexec runs a function of the cairn binary in a fresh child
// process: the parent starts /proc/self/exe under a registered name, and
// Init, called first thing in main (and in TestMain), runs that name's
// function instead of the program.
//
// A child of its own is how cairn does what a Go process cannot do to one
// of its threads: enter a private mount namespace, mount inside it, chroot
// and exec. Whatever the child sets up dies with it, even on kill -9.
package reexec

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// prefix marks argv[0] of a re-executed child, so that a program named
// like a handler is never mistaken for one.
const prefix = "cairn-reexec:"

// handlers is filled by Register from init functions only, before main
// runs, and read-only afterwards.
var handlers = map[string]func(args []string) int{}

// Register makes fn runnable in a child under name. Call it from an init
// function. fn receives the arguments given to Command and returns the
// child's exit code.
func Register(name string, fn func(args []string) int) {
	if _, dup := handlers[name]; dup {
		panic(fmt.Sprintf("reexec: %q registered twice", name))
	}
	handlers[name] = fn
}

// Init runs the registered function when this process is a re-executed
// child, and then exits with its code; otherwise it returns at once. Call
// it first thing in main and in every TestMain of a package that starts
// children.
func Init() {
	name, ok := strings.CutPrefix(os.Args[0], prefix)
	if !ok {
		return
	}
	fn, ok := handlers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "reexec: no handler %q in this binary\n", name)
		os.Exit(127)
	}
	os.Exit(fn(os.Args[1:]))
}

// Command returns a command that re-executes the running binary as the
// child name with args. The caller sets its environment, I/O and
// SysProcAttr.
func Command(name string, args ...string) *exec.Cmd {
	return &exec.Cmd{
		Path: "/proc/self/exe",
		Args: append([]string{prefix + name}, args...),
	}
}

// CommandContext is Command whose child is killed when ctx is done, as
// exec.CommandContext's.
func CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = append([]string{prefix + name}, args...)
	return cmd
}
