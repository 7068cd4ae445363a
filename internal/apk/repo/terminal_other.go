//go:build !linux

package repo

import "io"

// isTerminal reports false: progress lines are shown on Linux only.
func isTerminal(io.Writer) bool { return false }
