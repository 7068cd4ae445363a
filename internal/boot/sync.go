package boot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// Options say how to make a store's generations bootable.
type Options struct {
	// BootDir is the boot directory: the mounted ESP or /boot partition,
	// or a directory on one (see PathPrefix).
	BootDir string
	// PathPrefix is where BootDir lies on its partition, as the loader
	// sees it: "" when BootDir is the partition's root, "/boot" when it is
	// the /boot directory of a partition.
	PathPrefix string
	Loader     string
	// ExtraLoaders are further loaders whose configurations are written
	// beside Loader's, naming the same kernels and initramfs images: one
	// boot directory that boots through BIOS (extlinux) and UEFI
	// (systemd-boot), as a disk image's EFI system partition does.
	ExtraLoaders []string
	// Root is the root= argument: "UUID=..." or "LABEL=..." of the btrfs
	// file system holding the store.
	Root string
	// Timeout and Serial shape the menu (Menu).
	Timeout int
	Serial  bool
	// Initramfs returns the initramfs image that boots generation g with
	// kernel k: cairn-init and the modules the root device needs.
	Initramfs func(g store.Generation, k Kernel) ([]byte, error)
	// Mkinitfs says the initramfs images are the generations' own
	// (Alpine's mkinitfs), not cairn-init: the entries name the
	// generation's subvolume (rootflags=subvol=…,ro) themselves, and the
	// "cairn" entry boots the default, since without cairn-init nothing
	// counts a trial's tries down.
	Mkinitfs bool
	// Crash, when set, is called at each named step (the crash tests'
	// hook, as in store.SetCrashHook).
	Crash func(point string) error
}

// Crash points of Sync, in the order it passes them.
const (
	PointFilesWritten  = "boot-files-written"  // new kernels/initramfs in place, configuration not yet
	PointConfigWritten = "boot-config-written" // configuration replaced, unused files not yet removed
)

// indexName is the boot directory's record of what it holds for which
// generation (cairn/index.json), so that generations, which never change,
// are copied only once.
const indexName = "index.json"

// bootIndex maps a generation number to its kernel and initramfs file
// names (in BootDir/cairn).
type bootIndex map[string]indexEntry

type indexEntry struct {
	Kernel  string `json:"kernel"`
	Initrd  string `json:"initrd"`
	Options string `json:"options"`
	Title   string `json:"title"`
}

// NoKernelError says a generation cannot be booted because it has no kernel.
type NoKernelError struct {
	Generation int
	Err        error
}

func (e *NoKernelError) Error() string {
	return fmt.Sprintf("generation %d cannot boot: %v", e.Generation, e.Err)
}

func (e *NoKernelError) Unwrap() error { return e.Err }

// Sync makes the boot directory boot the store's generations as state
// says: a "cairn" entry (the default) that boots state.NextBoot's kernel,
// leaving the choice of generation to cairn-init, and one entry per
// generation, newest first. Generations without a kernel get no entry; if
// the next boot has none, Sync fails and changes nothing. It copies what
// is new, then writes the configuration with one rename, then removes
// what no entry uses.
func Sync(o Options, gens []store.Generation, state store.State) error {
	dir := filepath.Join(o.BootDir, "cairn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("boot directory: %w", err)
	}
	old := readIndex(dir)
	index := bootIndex{}
	type pending struct {
		name string
		data []byte
	}
	var writes []pending
	planned := map[string]bool{}
	plan := func(prefix string, data []byte) string {
		sum := sha256.Sum256(data)
		name := prefix + "-" + hex.EncodeToString(sum[:8])
		if !planned[name] && !fileExists(filepath.Join(dir, name)) {
			writes = append(writes, pending{name, data})
		}
		planned[name] = true
		return name
	}
	next := o.next(state)
	var skipped []error
	for _, g := range gens {
		key := fmt.Sprint(g.Number)
		if e, ok := old[key]; ok && fileExists(filepath.Join(dir, e.Kernel)) && fileExists(filepath.Join(dir, e.Initrd)) {
			index[key] = e
			planned[e.Kernel], planned[e.Initrd] = true, true
			continue
		}
		k, err := FindKernel(g.Path, g.Meta.Kernel)
		if err != nil {
			err = &NoKernelError{Generation: g.Number, Err: err}
			if g.Number == next {
				return err
			}
			skipped = append(skipped, err)
			continue
		}
		kernel, err := os.ReadFile(k.Image)
		if err != nil {
			return fmt.Errorf("generation %d: %w", g.Number, err)
		}
		initrd, err := o.Initramfs(g, k)
		if err != nil {
			return fmt.Errorf("generation %d: initramfs: %w", g.Number, err)
		}
		cmdline, err := layout.ReadCmdline(g.Path)
		if err != nil {
			return fmt.Errorf("generation %d: %w", g.Number, err)
		}
		title := fmt.Sprintf("generation %d", g.Number)
		if d := g.Meta.Description; d != "" {
			title += ", " + d
		}
		title += " (" + g.Meta.Created.UTC().Format("2006-01-02 15:04") + ")"
		index[key] = indexEntry{
			Kernel:  plan("vmlinuz", kernel),
			Initrd:  plan("initrd", initrd),
			Options: cmdline,
			Title:   title,
		}
	}
	if next != 0 {
		if _, ok := index[fmt.Sprint(next)]; !ok {
			return fmt.Errorf("generation %d boots next but is not in the store", next)
		}
	}

	// 1. New files, each written whole and synced before it is named.
	var need int64
	for _, w := range writes {
		need += int64(len(w.data))
	}
	if err := checkSpace(o.BootDir, need); err != nil {
		return err
	}
	for _, w := range writes {
		if err := writeFileAtomic(filepath.Join(dir, w.name), w.data); err != nil {
			return fmt.Errorf("boot directory: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := o.crash(PointFilesWritten); err != nil {
		return err
	}

	// 2. The configuration, replaced file by file with one rename each;
	// the index last, so it never names a file the configuration lost.
	menu := o.menu(index, gens, next, state.Default)
	files := map[string][]byte{}
	for _, loader := range o.loaders() {
		f, err := Render(loader, menu)
		if err != nil {
			return err
		}
		maps.Copy(files, f)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(o.BootDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeIfChanged(p, files[name]); err != nil {
			return fmt.Errorf("loader configuration: %w", err)
		}
	}
	if slices.Contains(o.loaders(), SystemdBoot) {
		if err := removeStaleEntries(filepath.Join(o.BootDir, "loader", "entries"), files); err != nil {
			return err
		}
	}
	data, _ := json.MarshalIndent(index, "", "  ")
	if err := writeIfChanged(filepath.Join(dir, indexName), append(data, '\n')); err != nil {
		return err
	}
	if err := o.crash(PointConfigWritten); err != nil {
		return err
	}

	// 3. What nothing names any more.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != indexName && !planned[e.Name()] {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return syncDir(dir)
}

// writeIfChanged replaces path with data unless it holds data already.
// On a FAT boot partition every replacement is a window in which a power
// cut can damage it (docs/boot.md): a sync that changes nothing writes
// nothing.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeFileAtomic(path, data)
}

// next is the generation the first entry boots: the next boot, or with
// mkinitfs images (nothing counts a trial's tries) the default.
func (o Options) next(state store.State) int {
	if o.Mkinitfs && state.Default != 0 {
		return state.Default
	}
	return state.NextBoot()
}

// NextBoot is the entry the loader boots next (the first, "cairn" entry
// of the menu Sync writes for state), with Kernel and Initrd as paths
// under o.BootDir: what a kexec boot of the next boot loads. The boot
// directory must have been synced with gens and state.
func NextBoot(o Options, gens []store.Generation, state store.State) (Entry, error) {
	dir := filepath.Join(o.BootDir, "cairn")
	index := readIndex(dir)
	next := o.next(state)
	ie, ok := index[fmt.Sprint(next)]
	if next == 0 || !ok {
		return Entry{}, fmt.Errorf("the boot directory %s has no kernel for generation %d, which boots next: run cairn boot sync", o.BootDir, next)
	}
	e := o.menu(index, gens, next, state.Default).Entries[0]
	e.Kernel, e.Initrd = filepath.Join(dir, ie.Kernel), filepath.Join(dir, ie.Initrd)
	for _, f := range []string{e.Kernel, e.Initrd} {
		if _, err := os.Stat(f); err != nil {
			return Entry{}, fmt.Errorf("generation %d boots next: %w (cairn boot sync writes it again)", next, err)
		}
	}
	return e, nil
}

// Populated reports whether bootDir holds cairn's files (Sync has written
// it): a boot partition that is not mounted does not.
func Populated(bootDir string) bool {
	return fileExists(filepath.Join(bootDir, "cairn", indexName))
}

// loaders are the loaders whose configurations Sync writes.
func (o Options) loaders() []string {
	return append([]string{o.Loader}, o.ExtraLoaders...)
}

func (o Options) crash(point string) error {
	if o.Crash == nil {
		return nil
	}
	return o.Crash(point)
}

// menu builds the entries: the one that follows the state first, then
// every bootable generation, newest first. def is the default
// generation, which the first entry names (cairn.default=) for cairn-init
// to boot should state.json be unusable.
func (o Options) menu(index bootIndex, gens []store.Generation, next, def int) Menu {
	m := Menu{Timeout: o.Timeout, Serial: o.Serial}
	base := "root=" + o.Root + " rootfstype=btrfs"
	entry := func(id string, n int, title, extra string) Entry {
		e := index[fmt.Sprint(n)]
		opts := strings.TrimSpace(base + " " + e.Options + extra)
		return Entry{ID: id, Title: "Alpine (cairn " + title + ")", Kernel: path.Join("/", o.PathPrefix, "cairn", e.Kernel),
			Initrd: path.Join("/", o.PathPrefix, "cairn", e.Initrd), Options: opts, Generation: n}
	}
	// With cairn-init, an entry names its generation with cairn.gen=
	// (the "cairn" entry names none: cairn-init chooses); with mkinitfs
	// images, every entry names its subvolume.
	gen := func(n int) string { return fmt.Sprintf(" %s=%d", layout.ParamGen, n) }
	if o.Mkinitfs {
		gen = func(n int) string { return fmt.Sprintf(" rootflags=subvol=%s,ro", layout.GenerationSubvol(n)) }
	}
	switch {
	case next != 0 && o.Mkinitfs:
		m.Entries = append(m.Entries, entry("cairn", next, fmt.Sprintf("default, generation %d", next), gen(next)))
	case next != 0:
		hint := ""
		if _, ok := index[fmt.Sprint(def)]; ok {
			hint = fmt.Sprintf(" %s=%d", layout.ParamDefault, def)
		}
		m.Entries = append(m.Entries, entry("cairn", next, "next boot: trial or default", hint))
	}
	nums := make([]int, 0, len(gens))
	for _, g := range gens {
		if _, ok := index[fmt.Sprint(g.Number)]; ok {
			nums = append(nums, g.Number)
		}
	}
	slices.Sort(nums)
	slices.Reverse(nums)
	for _, n := range nums {
		m.Entries = append(m.Entries, entry(fmt.Sprintf("cairn-%d", n), n, index[fmt.Sprint(n)].Title, gen(n)))
	}
	return m
}

func readIndex(dir string) bootIndex {
	idx := bootIndex{}
	data, err := os.ReadFile(filepath.Join(dir, indexName))
	if err == nil {
		json.Unmarshal(data, &idx)
	}
	return idx
}

// removeStaleEntries removes cairn's entries that the new configuration
// does not have.
func removeStaleEntries(dir string, files map[string][]byte) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "cairn") && strings.HasSuffix(name, ".conf") {
			if _, ok := files["loader/entries/"+name]; !ok {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
