package boot

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// ConfigName is the store's boot configuration, @cairn/boot.json: where
// the boot directory is and how the loader boots the store. A store
// without one is not booted by cairn's entries (images, containers).
const ConfigName = "boot.json"

// Config says how a store's generations boot.
type Config struct {
	// BootDir is the boot directory as the machine running cairn sees it
	// (/boot, /boot/efi).
	BootDir string `json:"bootDir"`
	// BootFS names the file system whose root BootDir is (UUID=… or
	// LABEL=…), so that any machine — the node itself, not only the one
	// that ran boot setup — finds it, mounted or not (Locate). Empty in
	// configurations from before it was recorded, and for a boot
	// directory inside a larger file system: then BootDir alone counts.
	BootFS string `json:"bootFS,omitempty"`
	// PathPrefix is where BootDir lies on its partition (Options).
	PathPrefix string `json:"pathPrefix,omitempty"`
	Loader     string `json:"loader"`
	// ExtraLoaders are loaders whose configurations are kept beside
	// Loader's in the same boot directory (Options.ExtraLoaders).
	ExtraLoaders []string `json:"extraLoaders,omitempty"`
	// Root is the root= argument: UUID=... or LABEL=... of the store's
	// btrfs file system.
	Root    string `json:"root"`
	Timeout int    `json:"timeout,omitempty"`
	Serial  bool   `json:"serial,omitempty"`
	// Modules are kernel modules the initramfs carries besides
	// initramfs.DefaultModules (names or aliases).
	Modules []string `json:"modules,omitempty"`
	// Initramfs is InitramfsCairn (or empty): cairn-init, with trial
	// boots; or InitramfsMkinitfs: each generation's own
	// /boot/initramfs-<flavor> made by Alpine's mkinitfs, booting the
	// generation's subvolume directly, without trials (Options.Mkinitfs).
	Initramfs string `json:"initramfs,omitempty"`
}

// The initramfs images a store boots with (Config.Initramfs).
const (
	InitramfsCairn    = "cairn"
	InitramfsMkinitfs = "mkinitfs"
)

// Mkinitfs reports whether the generations boot with their own mkinitfs
// initramfs images instead of cairn-init (and so without trials).
func (c *Config) Mkinitfs() bool { return c.Initramfs == InitramfsMkinitfs }

// Check reports what is wrong with c.
func (c *Config) Check() error {
	var errs []error
	if c.BootDir == "" || !filepath.IsAbs(c.BootDir) {
		errs = append(errs, fmt.Errorf("boot directory %q: give an absolute path (the mounted ESP or /boot)", c.BootDir))
	}
	seen := map[string]bool{}
	for i, l := range append([]string{c.Loader}, c.ExtraLoaders...) {
		what := "loader"
		if i > 0 {
			what = "extra loader"
		}
		switch {
		case l != Extlinux && l != Grub && l != SystemdBoot:
			errs = append(errs, fmt.Errorf("%s %q: use %s, %s or %s", what, l, Extlinux, Grub, SystemdBoot))
		case seen[l]:
			errs = append(errs, fmt.Errorf("%s %q: given twice", what, l))
		}
		seen[l] = true
	}
	if c.BootFS != "" && !strings.HasPrefix(c.BootFS, "UUID=") && !strings.HasPrefix(c.BootFS, "LABEL=") || strings.ContainsAny(c.BootFS, " \t\n\"'") {
		errs = append(errs, fmt.Errorf("boot file system %q: give UUID=… or LABEL=… of the file system holding the boot directory", c.BootFS))
	}
	if !validRoot(c.Root) {
		errs = append(errs, fmt.Errorf("root %q: give UUID=<btrfs uuid> or LABEL=<label> of the store's file system", c.Root))
	}
	if c.Initramfs != "" && c.Initramfs != InitramfsCairn && c.Initramfs != InitramfsMkinitfs {
		errs = append(errs, fmt.Errorf("initramfs %q: use %s (cairn-init, with trial boots) or %s (the generations' own, from Alpine's mkinitfs)", c.Initramfs, InitramfsCairn, InitramfsMkinitfs))
	}
	if c.Timeout < 0 || c.Timeout > 600 {
		errs = append(errs, fmt.Errorf("timeout %d: give seconds from 0 to 600", c.Timeout))
	}
	return errors.Join(errs...)
}

func validRoot(s string) bool {
	for _, p := range []string{"UUID=", "LABEL=", "PARTUUID=", "/dev/"} {
		if len(s) > len(p) && s[:len(p)] == p {
			return !bytes.ContainsAny([]byte(s), " \t\n\"'")
		}
	}
	return false
}

// LoadConfig reads the store's boot configuration; nil when it has none.
func LoadConfig(st *store.Store) (*Config, error) {
	path := layout.StorePath(st.Dir(), ConfigName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// SaveConfig writes the store's boot configuration atomically.
func SaveConfig(st *store.Store, c *Config) error {
	if err := c.Check(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(layout.StorePath(st.Dir(), ConfigName), append(data, '\n'))
}

// Options turns the configuration into Sync's options, making each
// generation's initramfs from its own cairn-init and kernel modules.
func (c *Config) Options(crash func(string) error) Options {
	o := Options{
		BootDir: c.BootDir, PathPrefix: c.PathPrefix, Loader: c.Loader, ExtraLoaders: c.ExtraLoaders, Root: c.Root,
		Timeout: c.Timeout, Serial: c.Serial, Crash: crash,
		Initramfs: func(g store.Generation, k Kernel) ([]byte, error) {
			return GenerationInitramfs(g.Path, k, c.Modules)
		},
	}
	if c.Mkinitfs() {
		o.Mkinitfs = true
		o.Initramfs = func(g store.Generation, k Kernel) ([]byte, error) {
			return MkinitfsInitramfs(g.Path, k)
		}
	}
	return o
}

// MkinitfsInitramfs is the initramfs image Alpine's mkinitfs made for
// kernel k in the generation at root: /boot/initramfs-<flavor> beside
// /boot/vmlinuz-<flavor>.
func MkinitfsInitramfs(root string, k Kernel) ([]byte, error) {
	flavor := strings.TrimPrefix(filepath.Base(k.Image), "vmlinuz")
	p := filepath.Join(root, "boot", "initramfs"+flavor)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no /boot/initramfs%s beside the kernel: add mkinitfs to the packages (its trigger makes it), or boot with cairn-init", flavor)
	}
	return data, err
}

// GenerationInitramfs makes the initramfs that boots the generation at
// root with kernel k: the generation's own cairn-init, the modules the
// root device needs from the kernel's modules, and the generation's
// static busybox, if it has one, as the rescue shell. The same
// generation always gives the same bytes.
func GenerationInitramfs(root string, k Kernel, extra []string) ([]byte, error) {
	init := layout.InTree(root, layout.CairnInit)
	if _, err := os.Stat(init); err != nil {
		return nil, fmt.Errorf("no cairn-init in the generation (%s): it was built without one; rebuild it with cairn-init beside cairn", layout.CairnInit)
	}
	want := append(append([]string(nil), initramfs.DefaultModules...), extra...)
	opts := initramfs.Options{Init: init, Modules: k.Modules, Want: want, MTime: time.Unix(0, 0)}
	for _, sh := range []string{"bin/busybox.static", "bin/busybox"} {
		if p := filepath.Join(root, sh); isStatic(p) {
			opts.Shell = p
			break
		}
	}
	var buf bytes.Buffer
	if _, err := initramfs.Build(&buf, opts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isStatic reports whether p is an ELF executable without an interpreter.
func isStatic(p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false
		}
	}
	return f.Type == elf.ET_EXEC || f.Type == elf.ET_DYN
}
