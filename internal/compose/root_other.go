//go:build !linux

package compose

import (
	"errors"
	"io"
	"time"
)

// errUnsupported: composing a root needs openat2, which only Linux has.
var errUnsupported = errors.New("compose: only supported on Linux")

// On other systems openRoot fails, so none of the methods below is ever
// reached; they exist so that the portable code compiles.

type rootFS struct{}

func openRoot(string, time.Time) (*rootFS, error)                  { return nil, errUnsupported }
func (r *rootFS) close()                                           {}
func (r *rootFS) finish() error                                    { return errUnsupported }
func (r *rootFS) readFile(string) ([]byte, error)                  { return nil, errUnsupported }
func (r *rootFS) isDir(string) (bool, error)                       { return false, errUnsupported }
func (r *rootFS) symlinkOn(string) (string, string, error)         { return "", "", errUnsupported }
func (r *rootFS) mkdirAll(string, uint32, int, int) error          { return errUnsupported }
func (r *rootFS) writeFile(string, []byte, uint32, int, int) error { return errUnsupported }
func (r *rootFS) writeFrom(string, io.Reader, uint32, int, int) error {
	return errUnsupported
}
func (r *rootFS) symlink(string, string, int, int) error   { return errUnsupported }
func (r *rootFS) ensureDir(string, uint32, int, int) error { return errUnsupported }
