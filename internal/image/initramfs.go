package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
	"github.com/cairnlinux/cairn/internal/initramfs/kmod"
	"github.com/cairnlinux/cairn/internal/layout"
)

// Initramfs is the `initramfs` format: a RAM system, the whole
// generation in one compressed cpio archive (newc) whose /init is the
// generation's own cairn-init, which moves the system into a tmpfs,
// mounts the persistent directories from the device cairn.persist=
// names, and starts the generation's init (docs/boot.md, "RAM
// systems").
//
// Its output is a directory: the kernel (InitramfsKernel), the archive
// (InitrdName), the kernel command line (InitramfsCmdline) and loader
// snippets for extlinux and GRUB. The archive is reproducible: entries
// sorted by path, every time the epoch, owners as numbers, and, as the
// kernel's unpacker knows no more, neither extended attributes (file
// capabilities are lost) nor hard links (each name is a copy).
type Initramfs struct {
	// Compression is gzip when empty. The kernel must have the matching
	// decompressor built in (CONFIG_RD_GZIP, CONFIG_RD_ZSTD: Alpine's and
	// Debian's kernels have both).
	Compression Compression
	// Kernel is the kernel image the system boots with; when empty, the
	// generation's own (/boot/vmlinuz-*, the flavor its kernel package
	// names). Kernel images in the generation's /boot are left out of
	// the archive either way: the loader has loaded the kernel already.
	Kernel string
	// Persist, when set (LABEL=… or UUID=…), is added to the kernel
	// command line of the snippets as cairn.persist=: the device whose
	// @cairn/persist holds the persistent directories.
	Persist string
	// Modules are kernel modules cairn-init loads at boot besides
	// initramfs.DefaultModules and ext4 (names or aliases): the drivers
	// of the persistence device.
	Modules []string
}

// The files of an initramfs image, in its output directory.
const (
	InitramfsKernel   = "vmlinuz"
	InitramfsCmdline  = "cmdline"
	InitramfsExtlinux = "extlinux.conf"
	InitramfsGrub     = "grub.cfg"
)

func (Initramfs) Name() string { return "initramfs" }

// InitrdName is the archive's name in the output directory:
// initramfs.gz, initramfs.zst, or initramfs.cpio uncompressed.
func (f Initramfs) InitrdName() string {
	switch f.compression() {
	case Zstd:
		return "initramfs.zst"
	case None:
		return "initramfs.cpio"
	}
	return "initramfs.gz"
}

func (f Initramfs) compression() Compression {
	if f.Compression == "" {
		return Gzip
	}
	return f.Compression
}

// Write makes the image of src in the directory out, which must not
// exist: it is made beside it under a temporary name and renamed when
// complete. Result.TarSize is the length of the uncompressed cpio
// archive; Result.Skipped names the entries the archive cannot hold
// (sockets, fifos, block devices) and the files whose extended
// attributes were left out.
func (f Initramfs) Write(ctx context.Context, src Source, out string) (Result, error) {
	return f.write(ctx, src, out, runtime.GOMAXPROCS(0))
}

func (f Initramfs) write(ctx context.Context, src Source, out string, procs int) (Result, error) {
	var res Result
	if err := src.check(); err != nil {
		return res, err
	}
	if _, err := ParseCompression(string(f.compression())); err != nil {
		return res, err
	}
	if err := checkNew(out); err != nil {
		return res, err
	}
	p, err := f.plan(src)
	if err != nil {
		return res, fmt.Errorf("initramfs image: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return res, fmt.Errorf("initramfs image %s: %w", out, err)
	}
	defer os.RemoveAll(dir) // nothing left there once published
	if err := os.Chmod(dir, outputDirMode); err != nil {
		return res, fmt.Errorf("initramfs image %s: %w", out, err)
	}

	var stats archiveStats
	writeInitrd := func(w io.Writer) error {
		zw, err := compressor(w, f.compression(), procs)
		if err != nil {
			return err
		}
		stats, err = writeRAMArchive(ctx, zw, src, p)
		if cerr := zw.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", f.compression(), cerr)
		}
		return err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{InitramfsKernel, func(w io.Writer) error { return copyFileTo(w, p.kernel) }},
		{f.InitrdName(), writeInitrd},
		{InitramfsCmdline, bytesWriter([]byte(p.cmdline + "\n"))},
		{InitramfsExtlinux, bytesWriter(p.extlinux(f.InitrdName()))},
		{InitramfsGrub, bytesWriter(p.grub(f.InitrdName()))},
	}
	res.Outputs = []string{out}
	for _, file := range files {
		size, err := writeSynced(filepath.Join(dir, file.name), file.write)
		if err != nil {
			return Result{}, fmt.Errorf("initramfs image %s: %s: %w", out, file.name, err)
		}
		res.Size += size
		res.Outputs = append(res.Outputs, filepath.Join(out, file.name))
	}
	if err := syncDir(dir); err != nil {
		return Result{}, err
	}
	if err := publish(dir, out); err != nil {
		return Result{}, err
	}
	if err := syncDir(filepath.Dir(out)); err != nil {
		return Result{}, err
	}
	res.Entries, res.TarSize, res.Skipped = stats.entries, stats.size, stats.skipped
	return res, nil
}

func bytesWriter(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

func copyFileTo(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// writeSynced writes a new file through write, syncs it and returns its
// size.
func writeSynced(p string, write func(io.Writer) error) (int64, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, outputFileMode)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Chmod(outputFileMode); err != nil { // whatever the umask
		return 0, err
	}
	cw := &countingWriter{w: f}
	if err := write(cw); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return cw.n, f.Close()
}

// ramPlan is what an initramfs image is made of besides the tree.
type ramPlan struct {
	// kernel is the kernel image to copy beside the archive.
	kernel string
	// leaveOut are tree paths the archive does not hold (kernel images).
	leaveOut map[string]bool
	// added are files the archive holds besides the tree, by path: the
	// module list, decompressed copies of compressed modules.
	added map[string][]byte
	// modules is what was chosen for cairn-init to load.
	modules initramfs.Selection
	cmdline string
	title   string
}

// ramModulesDir is where decompressed copies of compressed modules go:
// cairn-init loads modules with finit_module, which takes them plain.
var ramModulesDir = strings.TrimPrefix(layout.RAMDir, "/") + "/modules.d"

// plan checks that src can be a RAM system and decides what goes in.
func (f Initramfs) plan(src Source) (*ramPlan, error) {
	root := src.Root
	p := &ramPlan{leaveOut: map[string]bool{}, added: map[string][]byte{}}
	init := layout.InTree(root, layout.CairnInit)
	if fi, err := os.Stat(init); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("no cairn-init in the generation (%s): it was built without one; rebuild it with cairn-init beside cairn", layout.CairnInit)
	}
	if _, err := os.Lstat(filepath.Join(root, "init")); err == nil {
		return nil, errors.New("the generation has an /init of its own: the initramfs's /init must be cairn-init")
	}
	if _, err := os.Lstat(layout.InTree(root, layout.RAMDir)); err == nil {
		return nil, fmt.Errorf("the generation has a %s already: it is cairn image's to write", layout.RAMDir)
	}
	gen, _ := layout.ReadGeneration(root) // a tree without a record gets a plain title
	p.title = "Alpine (cairn RAM system)"
	if d := gen.Description; d != "" {
		p.title = "Alpine (cairn RAM system, " + d + ")"
	} else if gen.Name != "" {
		p.title = "Alpine (cairn RAM system " + gen.Name + ")"
	}
	p.title = strings.Join(strings.Fields(p.title), " ")

	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz*"))
	for _, img := range images {
		p.leaveOut[path.Join("boot", filepath.Base(img))] = true
	}
	modDir := ""
	if f.Kernel != "" {
		fi, err := os.Stat(f.Kernel)
		if err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("kernel %s: not a file", f.Kernel)
		}
		p.kernel = f.Kernel
		dirs, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*", "kernel"))
		switch len(dirs) {
		case 0:
		case 1:
			modDir = filepath.Dir(dirs[0])
		default:
			return nil, fmt.Errorf("modules of several kernels in /lib/modules: cannot tell which belong to %s", f.Kernel)
		}
	} else {
		k, err := boot.FindKernel(root, gen.Kernel)
		if err != nil {
			return nil, fmt.Errorf("the generation's kernel: %w (or name a kernel image)", err)
		}
		p.kernel, modDir = k.Image, k.Modules
	}

	list := cairninit.ModuleList{}
	if modDir != "" {
		m, err := initramfs.OpenModules(modDir)
		if err != nil {
			return nil, err
		}
		want := append(append(append([]string{}, initramfs.DefaultModules...), "ext4"), f.Modules...)
		sel, err := m.Select(want)
		if err != nil {
			return nil, fmt.Errorf("modules: %w", err)
		}
		p.modules = sel
		list.Kernel = sel.Version
		rel, err := filepath.Rel(root, modDir)
		if err != nil {
			return nil, err
		}
		for _, mod := range sel.Modules {
			if suffix := kmod.Compression(mod.Path); suffix != "" {
				data, err := m.ReadModule(mod.Name)
				if err != nil {
					return nil, err
				}
				copyPath := path.Join(ramModulesDir, sel.Version, strings.TrimSuffix(mod.Path, suffix))
				p.added[copyPath] = data
				list.Paths = append(list.Paths, "/"+copyPath)
				continue
			}
			list.Paths = append(list.Paths, "/"+path.Join(filepath.ToSlash(rel), mod.Path))
		}
	}
	p.added[strings.TrimPrefix(layout.RAMModules, "/")] = cairninit.FormatModuleList(list)

	cmdline, err := layout.ReadCmdline(root)
	if err != nil {
		return nil, err
	}
	p.cmdline = cmdline
	if f.Persist != "" {
		if _, err := cairninit.ParseDevice(layout.ParamPersist, f.Persist); err != nil {
			return nil, err
		}
		if strings.ContainsAny(f.Persist, " \t\n\"'") {
			return nil, fmt.Errorf("%s=%s: the kernel command line cannot carry this label; use UUID=", layout.ParamPersist, f.Persist)
		}
		p.cmdline = strings.TrimSpace(p.cmdline + " " + layout.ParamPersist + "=" + f.Persist)
	}
	return p, nil
}

const snippetHeader = "# A RAM system made by cairn image --format initramfs (docs/boot.md, \"RAM systems\").\n"

// extlinux is an extlinux.conf booting the image; syslinux reads paths
// relative to the configuration file's directory.
func (p *ramPlan) extlinux(initrd string) []byte {
	var b strings.Builder
	b.WriteString(snippetHeader)
	b.WriteString("# Put vmlinuz and " + initrd + " beside this file.\n")
	b.WriteString("DEFAULT cairn-ram\nPROMPT 0\nTIMEOUT 0\n\n")
	fmt.Fprintf(&b, "LABEL cairn-ram\n  MENU LABEL %s\n  LINUX %s\n  INITRD %s\n  APPEND %s\n", p.title, InitramfsKernel, initrd, p.cmdline)
	return []byte(b.String())
}

// grub is a grub.cfg entry booting the image from the top of the
// partition $root names.
func (p *ramPlan) grub(initrd string) []byte {
	var b strings.Builder
	b.WriteString(snippetHeader)
	b.WriteString("# The paths are those of vmlinuz and " + initrd + " at the top of the partition $root names.\n")
	fmt.Fprintf(&b, "menuentry '%s' --id cairn-ram {\n  linux /%s %s\n  initrd /%s\n}\n",
		strings.ReplaceAll(p.title, "'", `'\''`), InitramfsKernel, p.cmdline, initrd)
	return []byte(b.String())
}
