package cairninit

import (
	"fmt"
	"io"
)

// Log writes cairn-init's console lines, each prefixed "cairn-init: ".
// With Quiet (the kernel's quiet), only problems are written.
type Log struct {
	W     io.Writer
	Quiet bool
}

// Infof writes a progress line, unless quiet.
func (l *Log) Infof(format string, args ...any) {
	if !l.Quiet {
		l.write(format, args...)
	}
}

// Errorf writes what failed; always.
func (l *Log) Errorf(format string, args ...any) { l.write(format, args...) }

func (l *Log) write(format string, args ...any) {
	fmt.Fprintf(l.W, "cairn-init: "+format+"\n", args...)
}
