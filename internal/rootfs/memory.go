package rootfs

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Memory is a Root in memory, for tests: the same resolution (chroot
// semantics, at most 40 symlinks a path) and the same errors as a root on
// disk (syscall.Errno values inside *os.PathError), without a disk,
// privileges or Linux. Created entries are owned by UID:GID and get the
// mode asked for less Umask, as the kernel does for the process.
type Memory struct {
	Umask    uint32
	UID, GID int

	mu   sync.Mutex
	root *node
}

type node struct {
	mode     uint32 // st_mode
	uid, gid int
	mtime    time.Time
	data     []byte
	target   string
	rdev     [2]int64
	xattrs   map[string][]byte
	entries  map[string]*node // of a directory
	locked   bool
}

// NewMemory returns an empty root: a directory 0755 owned by root, with
// umask 022.
func NewMemory() *Memory {
	m := &Memory{Umask: 0o022}
	m.root = &node{mode: TypeDir | 0o755, mtime: time.Now(), entries: map[string]*node{}}
	return m
}

// maxLinks is how many symlinks resolving one path may follow (Linux's
// MAXSYMLINKS).
const maxLinks = 40

func (m *Memory) newNode(kind, perm uint32) *node {
	n := &node{mode: kind | perm&^m.Umask&0o7777, uid: m.UID, gid: m.GID, mtime: time.Now()}
	if kind == TypeDir {
		n.entries = map[string]*node{}
	}
	return n
}

// resolve finds rel in the root, following symlinks inside it (the last
// component's too when followLast is set). The caller holds m.mu.
func (m *Memory) resolve(rel string, followLast bool) (*node, error) {
	stack := []*node{m.root}
	comps := strings.Split(clean(rel), "/")
	links := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		cur := stack[len(stack)-1]
		if cur.entries == nil {
			return nil, syscall.ENOTDIR
		}
		child := cur.entries[c]
		if child == nil {
			return nil, syscall.ENOENT
		}
		if child.mode&TypeMask == TypeLink && (len(comps) > 0 || followLast) {
			if links++; links > maxLinks {
				return nil, syscall.ELOOP
			}
			if strings.HasPrefix(child.target, "/") {
				stack = stack[:1]
			}
			comps = append(strings.Split(child.target, "/"), comps...)
			continue
		}
		stack = append(stack, child)
	}
	return stack[len(stack)-1], nil
}

func (m *Memory) Path() string { return "" }
func (m *Memory) Close() error { return nil }
func (m *Memory) Sync() error  { return nil }

func (m *Memory) OpenDir(rel string) (Dir, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rel = clean(rel)
	n, err := m.resolve(rel, true)
	if err == nil && n.entries == nil {
		err = syscall.ENOTDIR
	}
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: display(rel, ""), Err: err}
	}
	return &memDir{m: m, n: n, path: rel}, nil
}

func (m *Memory) MkdirAll(rel string, mode uint32, created func(string)) (bool, error) {
	rel = clean(rel)
	if rel == "" {
		return false, nil
	}
	m.mu.Lock()
	n, err := m.resolve(rel, true)
	m.mu.Unlock()
	switch {
	case err == nil && n.entries != nil:
		return false, nil
	case err == nil:
		err = syscall.ENOTDIR
		fallthrough
	case err != syscall.ENOENT:
		return false, &os.PathError{Op: "open directory", Path: display(rel, ""), Err: err}
	}
	parent, base := Split(rel)
	if _, err := m.MkdirAll(parent, 0o755, created); err != nil {
		return false, err
	}
	d, err := m.OpenDir(parent)
	if err != nil {
		return false, err
	}
	switch err := d.Mkdir(base, mode); {
	case err == nil:
		if created != nil {
			created(rel)
		}
		return true, nil
	case errors.Is(err, syscall.EEXIST):
		return false, nil
	default:
		return false, err
	}
}

func (m *Memory) ReadFile(rel string, max int64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rel = clean(rel)
	n, err := m.resolve(rel, true)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: display(rel, ""), Err: err}
	}
	if n.mode&TypeMask != TypeReg {
		return nil, &os.PathError{Op: "read", Path: display(rel, ""), Err: ErrNotRegular}
	}
	if int64(len(n.data)) > max {
		return nil, &os.PathError{Op: "read", Path: display(rel, ""), Err: ErrTooLarge}
	}
	return bytes.Clone(n.data), nil
}

func (m *Memory) Stat(rel string) (Stat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rel = clean(rel)
	n, err := m.resolve(rel, true)
	if err != nil {
		return Stat{}, &os.PathError{Op: "stat", Path: display(rel, ""), Err: err}
	}
	return n.stat(), nil
}

func (n *node) stat() Stat {
	size := int64(len(n.data))
	if n.mode&TypeMask == TypeLink {
		size = int64(len(n.target))
	}
	return Stat{Mode: n.mode, UID: n.uid, GID: n.gid, Size: size, Mtime: n.mtime}
}

// Entry is what Memory.Entries reports of an entry.
type Entry struct {
	Stat
	Content string // a file's contents, a symlink's target
	Xattrs  map[string]string
}

// Entries lists every entry of the root by its path ("" for the root),
// for tests to compare whole trees.
func (m *Memory) Entries() map[string]Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Entry{}
	var walk func(p string, n *node)
	walk = func(p string, n *node) {
		e := Entry{Stat: n.stat(), Content: string(n.data)}
		if n.mode&TypeMask == TypeLink {
			e.Content = n.target
		}
		for k, v := range n.xattrs {
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[k] = string(v)
		}
		out[p] = e
		for name, c := range n.entries {
			walk(Join(p, name), c)
		}
	}
	walk("", m.root)
	return out
}
