//go:build !linux

package cli

import (
	"errors"
	"os"
)

func isTerminal(*os.File) bool { return false }

func rawTerminal(*os.File) (func(), error) {
	return nil, errors.New("a raw terminal is only supported on Linux")
}
