package rootfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sort"
	"syscall"
	"time"
)

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
