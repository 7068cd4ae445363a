package rootfs

import (
	"errors"
	"io"
	"strings"
	"time"
)

// Root is a directory tree whose paths are resolved inside it. Paths are
// relative to the root, slash-separated, "" (or ".") being the root itself;
// symlinks on the way are followed inside the root.
type Root interface {
	// Path is the root's directory on the host, "" for one in memory.
	Path() string
	// OpenDir opens directory rel.
	OpenDir(rel string) (Dir, error)
	// MkdirAll creates directory rel and its missing parents, parents
	// with mode 0755 and rel with mode (the umask applies), reporting each
	// directory it creates to created, parents first. made says whether
	// rel itself was created. A non-directory in the way is not reported
	// here: opening it reports it.
	MkdirAll(rel string, mode uint32, created func(rel string)) (made bool, err error)
	// ReadFile reads regular file rel whole, failing when it holds more
	// than max bytes.
	ReadFile(rel string, max int64) ([]byte, error)
	// Stat describes rel, following symlinks inside the root.
	Stat(rel string) (Stat, error)
	// Sync flushes the file system holding the root (syncfs).
	Sync() error
	Close() error
}

// Dir is an open directory of a Root. Its methods take single path
// components (a name with a "/" or "", ".", ".." is refused, except where
// "" is said to mean the directory itself) and never follow a symlink in
// them, so a change made through a Dir never lands outside the root.
type Dir interface {
	// Path is the directory's path in the root.
	Path() string
	Close() error

	// Stat describes the directory itself.
	Stat() (Stat, error)
	// Lstat describes entry name without following a symlink.
	Lstat(name string) (Stat, error)
	Readlink(name string) (string, error)
	// Open opens regular file name for reading; a symlink is refused.
	Open(name string) (io.ReadCloser, error)
	// Names lists the directory's entries, in no particular order.
	Names() ([]string, error)

	// Create makes a new regular file name with perm (the umask
	// applies), first removing a leftover of that name.
	Create(name string, perm uint32) (File, error)
	// Mkdir makes directory name; the umask applies.
	Mkdir(name string, mode uint32) error
	// Symlink makes name a symlink to target, replacing a file of that name.
	Symlink(target, name string) error
	// Link makes name a hard link to from's entry fromName, replacing a
	// file of that name.
	Link(from Dir, fromName, name string) error
	// Mknod makes a device node or FIFO, replacing a file of that name.
	Mknod(name string, mode uint32, major, minor int64) error
	// Rename renames entry from to to in this directory, replacing to.
	Rename(from, to string) error
	// RenameNoReplace moves entry from to name in directory to; it fails
	// with an error matching fs.ErrExist when name exists.
	RenameNoReplace(from string, to Dir, name string) error
	// Remove removes a non-directory entry.
	Remove(name string) error
	// RemoveDir removes an empty directory.
	RemoveDir(name string) error

	// Chmod sets the permission bits of name ("": the directory itself);
	// a symlink is refused.
	Chmod(name string, mode uint32) error
	// Lchown sets the owner of name ("": the directory itself), of a
	// symlink itself rather than what it points to.
	Lchown(name string, uid, gid int) error
	// SetTimes sets the access and modification times of name ("": the
	// directory itself), of a symlink itself.
	SetTimes(name string, t time.Time) error
	// SetXattrs sets extended attributes of a file or directory name.
	SetXattrs(name string, xs []Xattr) error

	// Sync makes the directory's entries durable (fsync).
	Sync() error
	// Lock takes an exclusive lock on file name, creating it; it fails at
	// once with ErrLocked when another holder has it.
	Lock(name string) (release func(), err error)
}

// File is a regular file being written, made by Dir.Create.
type File interface {
	io.Writer
	Chmod(mode uint32) error
	Chown(uid, gid int) error
	SetTimes(t time.Time) error
	SetXattrs(xs []Xattr) error
	Sync() error
	Close() error
}

// Stat is what the users of a root need to know of an entry.
type Stat struct {
	Mode     uint32 // type and permission bits, as st_mode
	UID, GID int
	Size     int64
	Mtime    time.Time
}

// File type bits of st_mode.
const (
	TypeMask   = 0o170000
	TypeDir    = 0o040000
	TypeReg    = 0o100000
	TypeLink   = 0o120000
	TypeChar   = 0o020000
	TypeBlock  = 0o060000
	TypeFIFO   = 0o010000
	TypeSocket = 0o140000
)

func (s Stat) IsDir() bool     { return s.Mode&TypeMask == TypeDir }
func (s Stat) IsRegular() bool { return s.Mode&TypeMask == TypeReg }
func (s Stat) IsSymlink() bool { return s.Mode&TypeMask == TypeLink }

// Xattr is an extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

var (
	// ErrLocked: Dir.Lock found the lock held.
	ErrLocked = errors.New("locked by another process")
	// ErrNotComponent refuses a name that is not a single path component.
	ErrNotComponent = errors.New("not a single path component")
	// ErrNotRegular: a file read whole is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: a file read whole is larger than allowed.
	ErrTooLarge = errors.New("file too large")
)

// Split splits rel into its parent and last component ("" and rel for a
// top-level name).
func Split(rel string) (parent, base string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}

// Join joins a directory's path in the root and a name.
func Join(dir, name string) string {
	switch {
	case dir == "" || dir == ".":
		return name
	case name == "":
		return dir
	}
	return dir + "/" + name
}

// validName reports whether name is a single path component.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// clean strips the slashes around rel and maps "." to "".
func clean(rel string) string {
	rel = strings.Trim(rel, "/")
	if rel == "." {
		return ""
	}
	return rel
}

// WithPath returns d under another path, for a caller that knows a
// directory by another name than where it is now (the installer makes
// directories under hidden names first): d's errors and Path then give
// that name. The result shares d's handle; close one of the two.
func WithPath(d Dir, path string) Dir {
	if p, ok := d.(interface{ withPath(string) Dir }); ok {
		return p.withPath(clean(path))
	}
	return d
}
