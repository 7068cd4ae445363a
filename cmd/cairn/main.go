// Command cairn is the cairn command line tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairnlinux/cairn/internal/cli"
	"github.com/cairnlinux/cairn/internal/reexec"
)

func main() {
	reexec.Init() // a re-executed child (install scripts) runs here and exits
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels; a second one has its default action and
	// ends cairn at once, wherever it is.
	context.AfterFunc(ctx, stop)
	code := cli.Run(ctx, os.Args[1:], cli.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
