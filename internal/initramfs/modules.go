package initramfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/initramfs/kmod"
)

// DefaultModules are the modules an initramfs carries when the caller
// names none: what a root file system on a virtio, SCSI, SATA, NVMe or
// USB disk needs, and btrfs. Names the kernel has built in or lacks are
// fine (Selection reports them).
var DefaultModules = []string{
	"virtio_blk", "virtio_pci", "virtio_scsi", "sd_mod", "nvme", "ahci",
	"usb-storage", "xhci_pci", "ehci_pci", "btrfs",
}

// Modules is a kernel's module directory, /lib/modules/<version>, opened
// for selecting what an initramfs needs. The module files are found by
// walking the directory. Dependencies come from modules.dep when depmod
// wrote one, otherwise from each module's own information (.modinfo); soft
// pre-dependencies from modules.softdep and the modules' information;
// aliases from modules.alias, or else from every module's information;
// built-in modules from modules.builtin and modules.builtin.modinfo (which
// the kernel's modules_install writes, so Debian's packages have them while
// they lack modules.dep).
type Modules struct {
	dir     string
	version string
	files   map[string]string // canonical name -> path relative to dir

	dep      *kmod.Dep // nil without modules.dep
	softdep  map[string]kmod.Softdeps
	aliases  []kmod.Alias // nil until known
	builtin  map[string]bool
	bAliases []kmod.Alias // of built-in modules
	info     map[string]kmod.Info
}

// OpenModules opens a kernel's module directory. Its base name is the
// kernel version (uname -r).
func OpenModules(dir string) (*Modules, error) {
	m := &Modules{
		dir:     dir,
		version: filepath.Base(dir),
		files:   map[string]string{},
		softdep: map[string]kmod.Softdeps{},
		builtin: map[string]bool{},
		info:    map[string]kmod.Info{},
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !kmod.IsModuleFile(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := kmod.NameOf(rel)
		if old, dup := m.files[name]; dup {
			// Two files for one module (say, an updated one in
			// updates/): depmod's rule is that the first directory
			// in its search order wins; without its configuration,
			// refuse rather than guess.
			if modulesDep(dir) {
				return nil // modules.dep decides, below
			}
			return fmt.Errorf("module %s twice: %s and %s", name, old, rel)
		}
		m.files[name] = rel
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kernel modules %s: %w", dir, err)
	}
	if len(m.files) == 0 {
		return nil, fmt.Errorf("kernel modules %s: no modules (*.ko) found", dir)
	}
	if err := m.readIndexes(); err != nil {
		return nil, fmt.Errorf("kernel modules %s: %w", dir, err)
	}
	return m, nil
}

func modulesDep(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "modules.dep"))
	return err == nil
}

// readIndexes reads what depmod and modules_install left, each file
// optional.
func (m *Modules) readIndexes() error {
	open := func(name string, parse func(io.Reader) error) error {
		f, err := os.Open(filepath.Join(m.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer f.Close()
		if err := parse(f); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	err := open("modules.dep", func(r io.Reader) error {
		d, err := kmod.ParseDep(r)
		if err != nil {
			return err
		}
		for name, p := range d.Paths {
			if _, err := os.Stat(filepath.Join(m.dir, filepath.FromSlash(p))); err != nil {
				return fmt.Errorf("lists %s, which is missing: run depmod again", p)
			}
			m.files[name] = p
		}
		m.dep = &d
		return nil
	})
	if err != nil {
		return err
	}
	err = open("modules.softdep", func(r io.Reader) (err error) {
		m.softdep, err = kmod.ParseSoftdep(r)
		return err
	})
	if err != nil {
		return err
	}
	err = open("modules.alias", func(r io.Reader) (err error) {
		m.aliases, err = kmod.ParseAlias(r)
		if m.aliases == nil {
			m.aliases = []kmod.Alias{}
		}
		return err
	})
	if err != nil {
		return err
	}
	err = open("modules.builtin", func(r io.Reader) (err error) {
		m.builtin, err = kmod.ParseBuiltin(r)
		return err
	})
	if err != nil {
		return err
	}
	return open("modules.builtin.modinfo", func(r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		infos := kmod.ParseBuiltinInfo(data)
		for _, name := range sortedKeys(infos) {
			m.builtin[name] = true
			for _, a := range infos[name]["alias"] {
				m.bAliases = append(m.bAliases, kmod.Alias{Pattern: a, Module: name})
			}
		}
		return nil
	})
}

// Version returns the kernel version the modules are for.
func (m *Modules) Version() string { return m.version }

// Dir returns the module directory.
func (m *Modules) Dir() string { return m.dir }

// Module is a module chosen for an initramfs.
type Module struct {
	// Name is the canonical name (usb_storage).
	Name string
	// Path is the module's file relative to the module directory, as
	// found (compressed or not).
	Path string
	// Deps are the module's hard dependencies, direct and indirect.
	Deps []string
	// Pre are soft pre-dependencies that were found as modules and
	// selected: loaded before the module when possible.
	Pre []string
}

// Selection is what Select chose.
type Selection struct {
	// Version is the kernel version.
	Version string
	// Modules in load order: every module after those it needs.
	Modules []Module
	// Builtin are the wanted names the kernel has built in.
	Builtin []string
	// Missing are the wanted names neither built in nor found.
	Missing []string
}

// Names returns the selected modules' names, in load order.
func (s Selection) Names() []string {
	out := make([]string, len(s.Modules))
	for i, mod := range s.Modules {
		out[i] = mod.Name
	}
	return out
}

// Select returns the modules wanted (module names or aliases, '-' and '_'
// alike) with everything they need: their hard dependencies and their soft
// pre-dependencies that exist as modules (not built in), closed under
// both, in load order. Names the kernel has built in, or lacks, are
// reported, not errors: one list of wanted modules serves many kernels.
func (m *Modules) Select(want []string) (Selection, error) {
	sel := Selection{Version: m.version}
	chosen := map[string]bool{}
	var queue []string
	for _, w := range want {
		mods, builtin, err := m.resolve(w)
		if err != nil {
			return sel, err
		}
		switch {
		case len(mods) > 0:
			queue = append(queue, mods...)
		case builtin:
			sel.Builtin = append(sel.Builtin, w)
		default:
			sel.Missing = append(sel.Missing, w)
		}
	}
	deps := map[string][]string{}
	pre := map[string][]string{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if chosen[name] {
			continue
		}
		chosen[name] = true
		d, err := m.depsOf(name)
		if err != nil {
			return sel, err
		}
		deps[name] = d
		queue = append(queue, d...)
		soft, err := m.softdepsOf(name)
		if err != nil {
			return sel, err
		}
		for _, s := range soft.Pre {
			mods, _, err := m.resolve(s)
			if err != nil {
				return sel, err
			}
			// Built in or missing: nothing to load.
			pre[name] = append(pre[name], mods...)
			queue = append(queue, mods...)
		}
	}
	names := sortedKeys(chosen)
	order, err := kmod.LoadOrder(names, deps, pre)
	if err != nil {
		return sel, err
	}
	for _, name := range order {
		sel.Modules = append(sel.Modules, Module{
			Name: name,
			Path: m.files[name],
			Deps: deps[name],
			Pre:  sortedSet(pre[name]),
		})
	}
	return sel, nil
}

// resolve turns a wanted name into modules: the module of that name, else
// nothing when it is built in, else the modules an alias names.
func (m *Modules) resolve(want string) (mods []string, builtin bool, err error) {
	name := kmod.Normalize(want)
	if _, ok := m.files[name]; ok {
		return []string{name}, false, nil
	}
	if m.builtin[name] {
		return nil, true, nil
	}
	for _, alias := range []string{want, name} {
		if len(kmod.Match(m.bAliases, alias)) > 0 {
			return nil, true, nil
		}
	}
	aliases, err := m.allAliases()
	if err != nil {
		return nil, false, err
	}
	for _, alias := range []string{want, name} {
		for _, mod := range kmod.Match(aliases, alias) {
			if _, ok := m.files[mod]; ok {
				mods = append(mods, mod)
			}
		}
		if len(mods) > 0 {
			return sortedSet(mods), false, nil
		}
	}
	return nil, false, nil
}

// allAliases returns modules.alias, or without it every module's aliases
// from their information (which reads every module once).
func (m *Modules) allAliases() ([]kmod.Alias, error) {
	if m.aliases != nil {
		return m.aliases, nil
	}
	aliases := []kmod.Alias{}
	for _, name := range sortedKeys(m.files) {
		info, err := m.infoOf(name)
		if err != nil {
			return nil, err
		}
		for _, a := range info["alias"] {
			aliases = append(aliases, kmod.Alias{Pattern: a, Module: name})
		}
	}
	m.aliases = aliases
	return aliases, nil
}

// depsOf returns a module's hard dependencies, direct and indirect.
func (m *Modules) depsOf(name string) ([]string, error) {
	if m.dep != nil {
		if d, ok := m.dep.Deps[name]; ok {
			return d, nil
		}
	}
	// From the modules' own information, transitively.
	var out []string
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		info, err := m.infoOf(queue[0])
		if err != nil {
			return nil, err
		}
		queue = queue[1:]
		for _, d := range info.Depends() {
			if seen[d] {
				continue
			}
			seen[d] = true
			if _, ok := m.files[d]; !ok {
				return nil, fmt.Errorf("module %s needs %s, which is not in %s", name, d, m.dir)
			}
			out = append(out, d)
			queue = append(queue, d)
		}
	}
	return out, nil
}

// softdepsOf returns a module's soft dependencies: modules.softdep's and
// the module's own.
func (m *Modules) softdepsOf(name string) (kmod.Softdeps, error) {
	info, err := m.infoOf(name)
	if err != nil {
		return kmod.Softdeps{}, err
	}
	s := info.Softdeps()
	if extra, ok := m.softdep[name]; ok {
		s.Pre = append(s.Pre, extra.Pre...)
		s.Post = append(s.Post, extra.Post...)
	}
	s.Pre = sortedSet(s.Pre)
	s.Post = sortedSet(s.Post)
	return s, nil
}

func (m *Modules) infoOf(name string) (kmod.Info, error) {
	if info, ok := m.info[name]; ok {
		return info, nil
	}
	data, err := m.ReadModule(name)
	if err != nil {
		return nil, err
	}
	info, err := kmod.ReadInfo(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("module %s (%s): %w", name, m.files[name], err)
	}
	m.info[name] = info
	return info, nil
}

// ReadModule returns a module's file, decompressed.
func (m *Modules) ReadModule(name string) ([]byte, error) {
	rel, ok := m.files[name]
	if !ok {
		return nil, fmt.Errorf("module %s: not in %s", name, m.dir)
	}
	p := filepath.Join(m.dir, filepath.FromSlash(rel))
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	data, err = decompressModule(data, kmod.Compression(rel))
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", p, err)
	}
	return data, nil
}

// plainPath is where a module goes in the initramfs: its path without the
// compression suffix (the initramfs is compressed as a whole, which packs
// better than module by module, and cairn-init need not decompress).
func plainPath(rel string) string {
	if s := kmod.Compression(rel); s != "" {
		return strings.TrimSuffix(rel, s)
	}
	return rel
}

// AddTo adds the selected modules to an archive under
// lib/modules/<version>/, decompressed, with a modules.dep and a
// modules.softdep that list exactly them: the dependency lines in the
// order depmod writes (the last dependency loads first), and the soft
// pre-dependencies that were selected, by module name.
func (m *Modules) AddTo(a *Archive, sel Selection) error {
	base := path.Join("lib/modules", sel.Version)
	paths := map[string]string{}
	for _, mod := range sel.Modules {
		paths[mod.Name] = plainPath(mod.Path)
	}
	pos := map[string]int{}
	for i, name := range sel.Names() {
		pos[name] = i
	}
	var dep, softdep strings.Builder
	sorted := slices.Clone(sel.Modules)
	sort.Slice(sorted, func(i, j int) bool { return paths[sorted[i].Name] < paths[sorted[j].Name] })
	for _, mod := range sorted {
		data, err := m.ReadModule(mod.Name)
		if err != nil {
			return err
		}
		if err := a.AddFile(path.Join(base, paths[mod.Name]), 0o644, data); err != nil {
			return err
		}
		deps := slices.Clone(mod.Deps)
		// Reverse load order: what loads last is listed first.
		sort.SliceStable(deps, func(i, j int) bool { return pos[deps[i]] > pos[deps[j]] })
		fmt.Fprintf(&dep, "%s:", paths[mod.Name])
		for _, d := range deps {
			p, ok := paths[d]
			if !ok {
				return fmt.Errorf("module %s needs %s, which is not selected", mod.Name, d)
			}
			fmt.Fprintf(&dep, " %s", p)
		}
		dep.WriteString("\n")
		if len(mod.Pre) > 0 {
			fmt.Fprintf(&softdep, "softdep %s pre: %s\n", mod.Name, strings.Join(mod.Pre, " "))
		}
	}
	if err := a.AddFile(path.Join(base, "modules.dep"), 0o644, []byte(dep.String())); err != nil {
		return err
	}
	return a.AddFile(path.Join(base, "modules.softdep"), 0o644, []byte(softdep.String()))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}
