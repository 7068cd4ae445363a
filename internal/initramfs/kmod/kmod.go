// Package kmod reads the files that describe a kernel's modules, in the
// formats kmod's depmod writes into /lib/modules/<version> (modules.dep,
// modules.softdep, modules.alias, modules.builtin,
// modules.builtin.modinfo) and the .modinfo section of a module itself,
// and orders modules for loading. It is shared by the initramfs builder
// and by cairn-init, so it depends on nothing but the standard library.
package kmod

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
)

// Normalize returns a module's canonical name: the kernel and kmod treat
// '-' and '_' in module names alike, and canonically use '_'.
func Normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

// compressedSuffixes are the extensions a compressed module carries after
// ".ko".
var compressedSuffixes = []string{".gz", ".xz", ".zst"}

// IsModuleFile reports whether a file name is a kernel module: name.ko,
// possibly compressed (.ko.gz, .ko.xz, .ko.zst).
func IsModuleFile(name string) bool {
	_, ok := cutModuleExt(path.Base(name))
	return ok
}

// Compression returns the suffix of a compressed module file (".gz",
// ".xz", ".zst"), or "" for a plain .ko.
func Compression(file string) string {
	for _, s := range compressedSuffixes {
		if strings.HasSuffix(file, ".ko"+s) {
			return s
		}
	}
	return ""
}

func cutModuleExt(base string) (string, bool) {
	if n, ok := strings.CutSuffix(base, ".ko"); ok {
		return n, n != ""
	}
	for _, s := range compressedSuffixes {
		if n, ok := strings.CutSuffix(base, ".ko"+s); ok {
			return n, n != ""
		}
	}
	return "", false
}

// NameOf returns the canonical module name of a module's path, as
// modules.dep lists it: "kernel/drivers/usb/storage/usb-storage.ko.xz"
// is "usb_storage".
func NameOf(file string) string {
	n, _ := cutModuleExt(path.Base(file))
	return Normalize(n)
}

// Dep is modules.dep: for every module, its path relative to the modules
// directory and its hard dependencies, direct and indirect, as paths, in
// the order depmod writes them (the last one loads first).
type Dep struct {
	// Paths by canonical module name.
	Paths map[string]string
	// Deps by canonical module name: the dependencies' names.
	Deps map[string][]string
	// Order is the module names in the order of the file.
	Order []string
}

// ParseDep reads modules.dep.
func ParseDep(r io.Reader) (Dep, error) {
	d := Dep{Paths: map[string]string{}, Deps: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		mod, deps, ok := strings.Cut(text, ":")
		mod = strings.TrimSpace(mod)
		if !ok || !IsModuleFile(mod) {
			return d, fmt.Errorf("modules.dep line %d: %q is not \"module.ko: dependencies\"", line, text)
		}
		name := NameOf(mod)
		if _, dup := d.Paths[name]; dup {
			return d, fmt.Errorf("modules.dep line %d: %s listed twice", line, name)
		}
		d.Paths[name] = mod
		d.Order = append(d.Order, name)
		var names []string
		for _, dep := range strings.Fields(deps) {
			if !IsModuleFile(dep) {
				return d, fmt.Errorf("modules.dep line %d: dependency %q is not a module", line, dep)
			}
			names = append(names, NameOf(dep))
		}
		d.Deps[name] = names
	}
	return d, sc.Err()
}

// Softdeps are soft dependencies: modules (or aliases) to load before
// (Pre) or after (Post) a module when they exist, as modules.softdep and
// a module's "softdep=" information give them.
type Softdeps struct {
	Pre, Post []string
}

// ParseSoftdepValue reads the value of a softdep ("pre: a b post: c").
func ParseSoftdepValue(v string) Softdeps {
	var s Softdeps
	var cur *[]string
	for _, f := range strings.Fields(v) {
		switch f {
		case "pre:":
			cur = &s.Pre
		case "post:":
			cur = &s.Post
		default:
			if cur != nil {
				*cur = append(*cur, f)
			}
		}
	}
	return s
}

// ParseSoftdep reads modules.softdep ("softdep btrfs pre: crc32c"), by
// canonical module name.
func ParseSoftdep(r io.Reader) (map[string]Softdeps, error) {
	out := map[string]Softdeps{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] != "softdep" || len(f) < 2 {
			return out, fmt.Errorf("modules.softdep line %d: %q is not \"softdep module pre: ... post: ...\"", line, sc.Text())
		}
		name := Normalize(f[1])
		s := ParseSoftdepValue(strings.Join(f[2:], " "))
		old := out[name]
		old.Pre = append(old.Pre, s.Pre...)
		old.Post = append(old.Post, s.Post...)
		out[name] = old
	}
	return out, sc.Err()
}

// Alias maps a pattern (shell wildcards, as fnmatch) to a module.
type Alias struct {
	Pattern string
	Module  string // canonical name
}

// ParseAlias reads modules.alias ("alias fs-btrfs btrfs").
func ParseAlias(r io.Reader) ([]Alias, error) {
	var out []Alias
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] != "alias" || len(f) != 3 {
			return out, fmt.Errorf("modules.alias line %d: %q is not \"alias pattern module\"", line, sc.Text())
		}
		out = append(out, Alias{Pattern: f[1], Module: Normalize(f[2])})
	}
	return out, sc.Err()
}

// Match returns the modules whose alias pattern matches name, sorted and
// without repeats.
func Match(aliases []Alias, name string) []string {
	var out []string
	for _, a := range aliases {
		if ok, _ := path.Match(a.Pattern, name); ok || a.Pattern == name {
			out = append(out, a.Module)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ParseBuiltin reads modules.builtin: the paths of the modules compiled
// into the kernel, returned as canonical names.
func ParseBuiltin(r io.Reader) (map[string]bool, error) {
	out := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" && !strings.HasPrefix(p, "#") {
			out[NameOf(p)] = true
		}
	}
	return out, sc.Err()
}

// Info is a module's information (modinfo): key=value pairs, keys
// repeated as the module gives them ("alias" usually is).
type Info map[string][]string

// First returns the first value of key, "" when there is none.
func (i Info) First(key string) string {
	if v := i[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Depends returns the module's hard dependencies ("depends=a,b").
func (i Info) Depends() []string {
	var out []string
	for _, v := range i["depends"] {
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, Normalize(d))
			}
		}
	}
	return out
}

// Softdeps returns the module's soft dependencies ("softdep=pre: a").
func (i Info) Softdeps() Softdeps {
	var s Softdeps
	for _, v := range i["softdep"] {
		one := ParseSoftdepValue(v)
		s.Pre = append(s.Pre, one.Pre...)
		s.Post = append(s.Post, one.Post...)
	}
	return s
}

// parseInfo splits a NUL-separated list of key=value strings.
func parseInfo(data []byte, add func(key, value string)) {
	for _, rec := range bytes.Split(data, []byte{0}) {
		k, v, ok := strings.Cut(string(rec), "=")
		if ok && k != "" {
			add(k, v)
		}
	}
}

// ReadInfo returns the .modinfo section of an (uncompressed) module.
func ReadInfo(module io.ReaderAt) (Info, error) {
	f, err := elf.NewFile(module)
	if err != nil {
		return nil, fmt.Errorf("not an ELF module: %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, errors.New("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf(".modinfo: %w", err)
	}
	info := Info{}
	parseInfo(data, func(k, v string) { info[k] = append(info[k], v) })
	return info, nil
}

// ParseBuiltinInfo reads modules.builtin.modinfo (NUL-separated
// "module.key=value"), by canonical module name.
func ParseBuiltinInfo(data []byte) map[string]Info {
	out := map[string]Info{}
	parseInfo(data, func(k, v string) {
		mod, key, ok := strings.Cut(k, ".")
		if !ok {
			return
		}
		mod = Normalize(mod)
		if out[mod] == nil {
			out[mod] = Info{}
		}
		out[mod][key] = append(out[mod][key], v)
	})
	return out
}

// CycleError says modules depend on each other in a circle.
type CycleError struct {
	Modules []string
}

func (e *CycleError) Error() string {
	return "modules depend on each other in a cycle: " + strings.Join(e.Modules, " -> ")
}

// LoadOrder returns every module in mods ordered so each comes after the
// modules it needs: its hard dependencies (deps) and those of its soft
// pre-dependencies (pre) that are in mods. Dependencies outside mods are
// ignored (they are built in, or missing). Ties go by name, so the order
// depends only on the graph.
func LoadOrder(mods []string, deps, pre map[string][]string) ([]string, error) {
	in := map[string]bool{}
	for _, m := range mods {
		in[m] = true
	}
	const (
		visiting = 1
		done     = 2
	)
	mark := map[string]int{}
	var order, stack []string
	var visit func(m string) error
	visit = func(m string) error {
		switch mark[m] {
		case done:
			return nil
		case visiting:
			i := slices.Index(stack, m)
			return &CycleError{Modules: append(slices.Clone(stack[i:]), m)}
		}
		mark[m] = visiting
		stack = append(stack, m)
		for _, d := range sortedSet(deps[m]) {
			if d == m || !in[d] {
				continue
			}
			if err := visit(d); err != nil {
				return err
			}
		}
		// A soft dependency is a wish, not a need: one that would close
		// a cycle is dropped instead of failing.
		for _, d := range sortedSet(pre[m]) {
			if d == m || !in[d] || mark[d] == visiting {
				continue
			}
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		mark[m] = done
		order = append(order, m)
		return nil
	}
	for _, m := range sortedSet(mods) {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}
