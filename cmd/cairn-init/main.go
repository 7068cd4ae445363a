// Command cairn-init is the /init of cairn's initramfs: it runs as PID 1,
// boots the generation @cairn/state.json (or cairn.gen=N) chooses, and
// hands over to that generation's init. See docs/boot.md. Build it
// static: CGO_ENABLED=0 go build ./cmd/cairn-init.
package main

import (
	"fmt"
	"os"

	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
)

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "cairn-init: runs as PID 1 in an initramfs (it mounts, moves and deletes what it finds there); nothing done")
		os.Exit(2)
	}
	m := cairninit.NewMachine()
	if err := cairninit.Run(m, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stdout, "cairn-init: %v\n", err)
	}
	// PID 1 must never exit: the kernel would panic.
	m.Halt()
}
