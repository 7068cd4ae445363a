package image

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Kind is the type of a tree entry.
type Kind uint8

const (
	Regular Kind = iota
	Dir
	Symlink
	// HardLink is a later name of a regular file (or device, fifo) whose
	// first name came earlier in the walk; Entry.Link is that first name.
	HardLink
	CharDevice
	BlockDevice
	FIFO
	// Socket entries are reported but no format stores them: tar cannot.
	Socket
)

func (k Kind) String() string {
	switch k {
	case Regular:
		return "file"
	case Dir:
		return "directory"
	case Symlink:
		return "symlink"
	case HardLink:
		return "hard link"
	case CharDevice:
		return "character device"
	case BlockDevice:
		return "block device"
	case FIFO:
		return "fifo"
	case Socket:
		return "socket"
	}
	return "unknown"
}

// Xattr is an extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Entry is one name in a tree, as images record it.
type Entry struct {
	// Path is slash-separated and relative to the root, without a
	// leading "./"; the root itself is ".".
	Path string
	Kind Kind
	// Mode is the permission bits with setuid, setgid and sticky (07777).
	Mode     uint32
	UID, GID uint32
	// Size is the length of a regular file's content; 0 otherwise.
	Size int64
	// ModTime is the modification time in whole seconds, clamped to the
	// walk's epoch.
	ModTime time.Time
	// Link is a symlink's target, or a hard link's first name (a Path).
	Link               string
	DevMajor, DevMinor uint32
	// Xattrs are the kept extended attributes, sorted by name.
	Xattrs []Xattr

	open func() (File, error)
}

// File is a regular file's content, open for reading.
type File interface {
	Read(p []byte) (int, error)
	Close() error
}

// Open opens a regular file's content. It is valid only inside the
// WalkFunc that received the entry.
func (e *Entry) Open() (File, error) {
	if e.open == nil {
		return nil, errNotRegular(e)
	}
	return e.open()
}

// WalkFunc is called for every entry of a tree, in order. An error stops
// the walk and is returned by Walk.
type WalkFunc func(e *Entry) error

// Walk calls fn for every entry under root, the root first, in the order
// and with the attributes described in the package documentation. Times
// later than epoch become epoch; the zero time stands for the Unix epoch
// (1970). Walk stops when ctx is cancelled.
func Walk(ctx context.Context, root string, epoch time.Time, fn WalkFunc) error {
	if epoch.IsZero() {
		epoch = time.Unix(0, 0)
	}
	return walk(ctx, root, epoch.Truncate(time.Second), fn)
}

// clamp returns the time an image records for a file's sec.
func clamp(sec int64, epoch time.Time) time.Time {
	if sec > epoch.Unix() {
		return epoch
	}
	return time.Unix(sec, 0)
}

// keepXattr says which extended attributes images carry: the user,
// trusted and security namespaces (file capabilities, IMA), but not the
// SELinux label the build host gave the file, nor POSIX ACLs (system.*),
// which GNU tar stores separately (--acls) and cairn never sets.
func keepXattr(name string) bool {
	switch {
	case name == "security.selinux":
		return false
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "trusted."), strings.HasPrefix(name, "security."):
		return true
	}
	return false
}

func errNotRegular(e *Entry) error {
	return fmt.Errorf("open %s: a %s has no content", e.Path, e.Kind)
}
