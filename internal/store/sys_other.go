//go:build !linux

package store

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

var errNotLinux = errors.New("cairn stores are only supported on Linux")

var (
	errWouldBlock = errors.New("would block")
	errNoFlags    = errors.New("file system has no immutable attribute")
)

func tryLock(*os.File) error                       { return errNotLinux }
func blockLock(*os.File) error                     { return errNotLinux }
func syncFS(string) error                          { return errNotLinux }
func setImmutable(string, bool) (bool, error)      { return false, errNotLinux }
func immutable(string) (bool, error)               { return false, errNotLinux }
func inode(fi fs.FileInfo) (uint64, uint64, int64) { return 0, 1, fi.Size() }
func owner(fs.FileInfo) (int, int)                 { return -1, -1 }
func birthTime(string) (time.Time, error)          { return time.Time{}, errNotLinux }
func linkFailed(error) bool                        { return false }
