package openrc

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// Install writes services into the root directory root: for each
// defined service /etc/init.d/NAME (mode 0755) and /etc/conf.d/NAME
// (0644), and for each runlevel the directory /etc/runlevels/LEVEL with
// an absolute symlink /etc/init.d/SVC for each of its services, as
// Alpine's rc-update does. A runlevel may list a service the root
// already has an init script for, from a package; one that neither the
// root nor the manifest provides is a *MissingServiceError. A defined
// service replaces a package's script of the same name; links already
// in the root are kept. Every problem the manifest or the root's init
// scripts cause is reported, all at once, before anything is written.
//
// Everything Install creates or replaces, and every directory it adds
// entries to, gets mtime as access and modification time; created
// entries are owned by root:root when Install runs as root. Running it
// again with the same arguments leaves the same tree.
func Install(root string, services manifest.Services, mtime time.Time) error {
	p, err := makePlan(services)
	if err != nil {
		return err
	}
	fs, err := rootfs.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("install services: %w", err)
	}
	defer fs.Close()
	return install(&rootDir{fs: fs, chown: os.Geteuid() == 0}, root, p, mtime)
}

// install carries out plan p in r, the root named root.
func install(r *rootDir, root string, p *plan, mtime time.Time) error {
	var missing []error
	for _, m := range p.needed() {
		ok, err := r.isFile(path.Join(initDir, m.Service))
		if err != nil {
			return fmt.Errorf("install services: runlevel %s: %w", m.Runlevel, err)
		}
		if !ok {
			missing = append(missing, &m)
		}
	}
	if len(missing) > 0 {
		return errors.Join(missing...)
	}
	w := &writer{fs: r, mtime: mtime, touched: map[string]bool{}}
	if err := w.apply(p); err != nil {
		return fmt.Errorf("install services into %s: %w", root, err)
	}
	return nil
}

// writer carries out a plan and remembers which directories it changed.
type writer struct {
	fs      *rootDir
	mtime   time.Time
	touched map[string]bool // directories whose entries changed
}

func (w *writer) apply(p *plan) error {
	for _, f := range p.files {
		if err := w.mkdirAll(f.dir); err != nil {
			return err
		}
		if err := w.fs.writeFile(f.dir, f.name, f.data, f.mode); err != nil {
			return err
		}
		if err := w.created(f.dir, f.name); err != nil {
			return err
		}
	}
	for _, level := range slices.Sorted(maps.Keys(p.runlevels)) {
		dir := path.Join(runlevelDir, level)
		if err := w.mkdirAll(dir); err != nil {
			return err
		}
		for _, svc := range p.runlevels[level] {
			if err := w.fs.symlink(dir, svc, "/"+path.Join(initDir, svc)); err != nil {
				return err
			}
			if err := w.created(dir, svc); err != nil {
				return err
			}
		}
	}
	// Last, since adding entries to a directory changes its time.
	for _, dir := range slices.Sorted(maps.Keys(w.touched)) {
		if err := w.fs.setTimes(dir, "", w.mtime); err != nil {
			return err
		}
	}
	return nil
}

// created records a new entry name in dir and sets its times.
func (w *writer) created(dir, name string) error {
	w.touched[dir] = true
	return w.fs.setTimes(dir, name, w.mtime)
}

// mkdirAll creates dir and its missing parents with mode 0755.
func (w *writer) mkdirAll(dir string) error {
	parent := ""
	for _, name := range strings.Split(dir, "/") {
		cur := path.Join(parent, name)
		ok, err := w.fs.isDir(cur)
		if err != nil {
			return err
		}
		if !ok {
			if err := w.fs.mkdir(parent, name, 0o755); err != nil {
				return err
			}
			w.touched[parent] = true
			w.touched[cur] = true
		}
		parent = cur
	}
	return nil
}
