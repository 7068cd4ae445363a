//go:build !linux

package install

import (
	"context"
	"errors"
	"io/fs"

	"github.com/cairnlinux/cairn/internal/apk"
)

// On other systems openRoot fails, so none of the methods below is ever
// reached; they exist so that the portable code compiles.

type rootFS struct{ path string }

func openRoot(string) (*rootFS, error) { return nil, ErrUnsupported }

func (r *rootFS) Close() error                                        { return nil }
func (r *rootFS) openDir(string) (*dirFD, error)                      { return nil, ErrUnsupported }
func (r *rootFS) mkdirAll(string, uint32, func(string)) (bool, error) { return false, ErrUnsupported }
func (r *rootFS) syncfs() error                                       { return ErrUnsupported }
func (r *rootFS) readFile(string) ([]byte, error)                     { return nil, ErrUnsupported }

type dirFD struct{}

func (d *dirFD) Close() error                                   { return nil }
func (d *dirFD) createFile(string, uint32) (*fileFD, error)     { return nil, ErrUnsupported }
func (d *dirFD) symlink(string, string) error                   { return ErrUnsupported }
func (d *dirFD) link(*dirFD, string, string) error              { return ErrUnsupported }
func (d *dirFD) mknod(string, uint32, int64, int64) error       { return ErrUnsupported }
func (d *dirFD) rename(string, string) error                    { return ErrUnsupported }
func (d *dirFD) unlink(string) error                            { return ErrUnsupported }
func (d *dirFD) rmdir(string) error                             { return ErrUnsupported }
func (d *dirFD) lstat(string) (fileStat, error)                 { return fileStat{}, ErrUnsupported }
func (d *dirFD) stat() (fileStat, error)                        { return fileStat{}, ErrUnsupported }
func (d *dirFD) chown(string, int, int) error                   { return ErrUnsupported }
func (d *dirFD) chmod(string, uint32) error                     { return ErrUnsupported }
func (d *dirFD) setOwnerMode(int, int, uint32, bool) error      { return ErrUnsupported }
func (d *dirFD) setMtime(string, int64) error                   { return ErrUnsupported }
func (d *dirFD) setXattrs(string, []xattr) error                { return ErrUnsupported }
func (d *dirFD) digest(string) (apk.Checksum, bool, error)      { return nil, false, ErrUnsupported }
func (d *dirFD) names() ([]string, error)                       { return nil, ErrUnsupported }
func (d *dirFD) writeAtomic(string, []byte, uint32, bool) error { return ErrUnsupported }
func (d *dirFD) sync() error                                    { return ErrUnsupported }
func (d *dirFD) lockFile(string) (func(), error)                { return nil, ErrUnsupported }
func (d *dirFD) mkdir(string, uint32) error                     { return ErrUnsupported }
func (d *dirFD) renameTo(string, *dirFD, string) error          { return ErrUnsupported }

type fileFD struct{}

func (f *fileFD) write([]byte) error      { return ErrUnsupported }
func (f *fileFD) chmod(uint32) error      { return ErrUnsupported }
func (f *fileFD) setXattrs([]xattr) error { return ErrUnsupported }
func (f *fileFD) Close() error            { return nil }

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
func isExist(err error) bool    { return errors.Is(err, fs.ErrExist) }

func (t *txn) execScript(context.Context, string, []byte, []string) ([]byte, error) {
	return nil, ErrUnsupported
}

func fileExists(string) bool                  { return false }
func mkdirAll(string) error                   { return ErrUnsupported }
func rename(string, string) error             { return ErrUnsupported }
func remove(string)                           {}
func (f *fileFD) cloneFrom(string) error      { return ErrUnsupported }
func (d *dirFD) cloneTo(string, string) error { return ErrUnsupported }
func cannotClone(error) bool                  { return true }
