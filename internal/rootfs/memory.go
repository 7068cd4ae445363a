package rootfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sort"
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

// memDir is an open directory of a Memory; like a descriptor, it keeps
// the directory it opened even when that is renamed or removed.
type memDir struct {
	m    *Memory
	n    *node
	path string
}

func (d *memDir) Path() string { return d.path }
func (d *memDir) Close() error { return nil }

func (d *memDir) err(op, name string, err error) error {
	return &os.PathError{Op: op, Path: display(d.path, name), Err: err}
}

func (d *memDir) check(op, name string) error {
	if !validName(name) {
		return d.err(op, name, ErrNotComponent)
	}
	return nil
}

// entry returns name ("" for the directory itself when self is set).
// The caller holds d.m.mu.
func (d *memDir) entry(op, name string, self bool) (*node, error) {
	if name == "" && self {
		return d.n, nil
	}
	if err := d.check(op, name); err != nil {
		return nil, err
	}
	n := d.n.entries[name]
	if n == nil {
		return nil, d.err(op, name, syscall.ENOENT)
	}
	return n, nil
}

func (d *memDir) lock() func() {
	d.m.mu.Lock()
	return d.m.mu.Unlock
}

// changed records a change of the directory's entries, as the kernel
// does by setting its modification time.
func (d *memDir) changed() { d.n.mtime = time.Now() }

func (d *memDir) Stat() (Stat, error) {
	defer d.lock()()
	return d.n.stat(), nil
}

func (d *memDir) Lstat(name string) (Stat, error) {
	defer d.lock()()
	n, err := d.entry("stat", name, false)
	if err != nil {
		return Stat{}, err
	}
	return n.stat(), nil
}

func (d *memDir) Readlink(name string) (string, error) {
	defer d.lock()()
	n, err := d.entry("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode&TypeMask != TypeLink {
		return "", d.err("readlink", name, syscall.EINVAL)
	}
	return n.target, nil
}

func (d *memDir) Open(name string) (io.ReadCloser, error) {
	defer d.lock()()
	n, err := d.entry("open", name, false)
	if err != nil {
		return nil, err
	}
	if n.mode&TypeMask == TypeLink {
		return nil, d.err("open", name, syscall.ELOOP)
	}
	return io.NopCloser(bytes.NewReader(bytes.Clone(n.data))), nil
}

func (d *memDir) Names() ([]string, error) {
	defer d.lock()()
	names := make([]string, 0, len(d.n.entries))
	for name := range d.n.entries {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// add puts n in as name, replacing a non-directory (a leftover) of that
// name, as the disk implementation's retry does. The caller holds d.m.mu.
func (d *memDir) add(op, name string, n *node, replace bool) error {
	if err := d.check(op, name); err != nil {
		return err
	}
	if d.n.entries == nil {
		return d.err(op, name, syscall.ENOENT)
	}
	if old := d.n.entries[name]; old != nil && (!replace || old.entries != nil) {
		return d.err(op, name, syscall.EEXIST)
	}
	d.n.entries[name] = n
	d.changed()
	return nil
}

func (d *memDir) Create(name string, perm uint32) (File, error) {
	defer d.lock()()
	n := d.m.newNode(TypeReg, perm&0o777)
	if err := d.add("create", name, n, true); err != nil {
		return nil, err
	}
	return &memFile{m: d.m, n: n, path: display(d.path, name)}, nil
}

func (d *memDir) Mkdir(name string, mode uint32) error {
	defer d.lock()()
	return d.add("mkdir", name, d.m.newNode(TypeDir, mode), false)
}

func (d *memDir) Symlink(target, name string) error {
	defer d.lock()()
	n := d.m.newNode(TypeLink, 0o777)
	n.mode = TypeLink | 0o777
	n.target = target
	return d.add("symlink", name, n, true)
}

func (d *memDir) Link(from Dir, fromName, name string) error {
	fd, ok := from.(*memDir)
	if !ok || fd.m != d.m {
		return d.err("link", name, syscall.EXDEV)
	}
	defer d.lock()()
	n, err := fd.entry("link", fromName, false)
	if err != nil {
		return err
	}
	if n.entries != nil {
		return d.err("link", name, syscall.EPERM)
	}
	return d.add("link", name, n, true)
}

func (d *memDir) Mknod(name string, mode uint32, major, minor int64) error {
	defer d.lock()()
	n := d.m.newNode(mode&TypeMask, mode&0o7777)
	n.rdev = [2]int64{major, minor}
	return d.add("mknod", name, n, true)
}

func (d *memDir) Rename(from, to string) error {
	return d.rename(from, d, to, false)
}

func (d *memDir) RenameNoReplace(from string, to Dir, name string) error {
	td, ok := to.(*memDir)
	if !ok || td.m != d.m {
		return d.err("rename", from, syscall.EXDEV)
	}
	return d.rename(from, td, name, true)
}

func (d *memDir) rename(from string, td *memDir, to string, noReplace bool) error {
	if err := errors.Join(d.check("rename", from), td.check("rename", to)); err != nil {
		return err
	}
	defer d.lock()()
	n := d.n.entries[from]
	if n == nil {
		return td.err("rename", to, syscall.ENOENT)
	}
	if n.entries != nil && (n == td.n || n.contains(td.n)) {
		return td.err("rename", to, syscall.EINVAL)
	}
	if old := td.n.entries[to]; old != nil && old != n {
		switch {
		case noReplace:
			return td.err("rename", to, syscall.EEXIST)
		case old.entries != nil && n.entries == nil:
			return td.err("rename", to, syscall.EISDIR)
		case old.entries == nil && n.entries != nil:
			return td.err("rename", to, syscall.ENOTDIR)
		case old.entries != nil && len(old.entries) > 0:
			return td.err("rename", to, syscall.ENOTEMPTY)
		}
	}
	delete(d.n.entries, from)
	td.n.entries[to] = n
	d.changed()
	td.changed()
	return nil
}

// contains reports whether directory n holds o somewhere below it.
func (n *node) contains(o *node) bool {
	for _, c := range n.entries {
		if c == o || (c.entries != nil && c.contains(o)) {
			return true
		}
	}
	return false
}

func (d *memDir) Remove(name string) error {
	defer d.lock()()
	n, err := d.entry("remove", name, false)
	if err != nil {
		return err
	}
	if n.entries != nil {
		return d.err("remove", name, syscall.EISDIR)
	}
	delete(d.n.entries, name)
	d.changed()
	return nil
}

func (d *memDir) RemoveDir(name string) error {
	defer d.lock()()
	n, err := d.entry("remove directory", name, false)
	if err != nil {
		return err
	}
	switch {
	case n.entries == nil:
		return d.err("remove directory", name, syscall.ENOTDIR)
	case len(n.entries) > 0:
		return d.err("remove directory", name, syscall.ENOTEMPTY)
	}
	delete(d.n.entries, name)
	d.changed()
	return nil
}

func (d *memDir) Chmod(name string, mode uint32) error {
	defer d.lock()()
	n, err := d.entry("chmod", name, true)
	if err != nil {
		return err
	}
	if n.mode&TypeMask == TypeLink {
		return d.err("chmod", name, syscall.ELOOP)
	}
	n.mode = n.mode&TypeMask | mode&0o7777
	return nil
}

func (d *memDir) Lchown(name string, uid, gid int) error {
	defer d.lock()()
	n, err := d.entry("chown", name, true)
	if err != nil {
		return err
	}
	n.chown(uid, gid)
	return nil
}

// chown changes the owner as chown(2) does: -1 keeps one, and a change
// clears the set-id bits of a non-directory.
func (n *node) chown(uid, gid int) {
	if uid >= 0 {
		n.uid = uid
	}
	if gid >= 0 {
		n.gid = gid
	}
	if n.entries == nil && n.mode&TypeMask != TypeLink {
		n.mode &^= 0o6000
	}
}

func (d *memDir) SetTimes(name string, t time.Time) error {
	defer d.lock()()
	n, err := d.entry("set times", name, true)
	if err != nil {
		return err
	}
	n.mtime = t
	return nil
}

func (d *memDir) SetXattrs(name string, xs []Xattr) error {
	defer d.lock()()
	n, err := d.entry("setxattr", name, true)
	if err != nil {
		return err
	}
	if n.mode&TypeMask == TypeLink {
		return d.err("open", name, syscall.ELOOP)
	}
	n.setXattrs(xs)
	return nil
}

func (n *node) setXattrs(xs []Xattr) {
	for _, x := range xs {
		if n.xattrs == nil {
			n.xattrs = map[string][]byte{}
		}
		n.xattrs[x.Name] = bytes.Clone(x.Value)
	}
}

func (d *memDir) Sync() error { return nil }

func (d *memDir) Lock(name string) (func(), error) {
	defer d.lock()()
	n := d.n.entries[name]
	if n == nil {
		n = d.m.newNode(TypeReg, 0o600)
		if err := d.add("open", name, n, false); err != nil {
			return nil, err
		}
	}
	if n.mode&TypeMask == TypeLink {
		return nil, d.err("open", name, syscall.ELOOP)
	}
	if n.locked {
		return nil, &os.PathError{Op: "lock", Path: display(d.path, name), Err: ErrLocked}
	}
	n.locked = true
	return func() {
		defer d.lock()()
		n.locked = false
	}, nil
}

// memFile is a file of a Memory being written.
type memFile struct {
	m    *Memory
	n    *node
	path string
}

func (f *memFile) lock() func() {
	f.m.mu.Lock()
	return f.m.mu.Unlock
}

func (f *memFile) Write(p []byte) (int, error) {
	defer f.lock()()
	f.n.data = append(f.n.data, p...)
	f.n.mtime = time.Now()
	return len(p), nil
}

func (f *memFile) Chmod(mode uint32) error {
	defer f.lock()()
	f.n.mode = TypeReg | mode&0o7777
	return nil
}

func (f *memFile) Chown(uid, gid int) error {
	defer f.lock()()
	f.n.chown(uid, gid)
	return nil
}

func (f *memFile) SetTimes(t time.Time) error {
	defer f.lock()()
	f.n.mtime = t
	return nil
}

func (f *memFile) SetXattrs(xs []Xattr) error {
	defer f.lock()()
	f.n.setXattrs(xs)
	return nil
}

func (f *memFile) Sync() error  { return nil }
func (f *memFile) Close() error { return nil }

func (d *memDir) withPath(p string) Dir { return &memDir{m: d.m, n: d.n, path: p} }
