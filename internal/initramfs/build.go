package initramfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"
)

// Options say what goes into an initramfs.
type Options struct {
	// Init is the program that becomes /init: the cairn-init binary (a
	// static executable).
	Init string
	// Modules is the kernel's module directory, /lib/modules/<version>;
	// empty for an initramfs without modules (a kernel with its drivers
	// built in).
	Modules string
	// Want are the modules to carry (names or aliases); DefaultModules
	// when nil.
	Want []string
	// Shell, when set, is a static busybox (or another static shell)
	// copied to /bin/sh: cairn-init runs it for rescue when nothing can
	// boot and for cairn.break.
	Shell string
	// MTime is every entry's time (SOURCE_DATE_EPOCH); the epoch when
	// zero.
	MTime time.Time
	// Compression of the archive; gzip when empty.
	Compression Compression
}

// Result describes a built initramfs.
type Result struct {
	// Selection is what modules went in.
	Selection Selection
	// ArchiveSize is the size of the cpio archive before compression.
	ArchiveSize int64
}

// Build writes an initramfs to w: a compressed newc archive holding
// /init, the directories cairn-init mounts on, /dev/console, the wanted
// modules with what they need, and optionally a shell. The same options
// give the same bytes.
func Build(w io.Writer, opts Options) (Result, error) {
	var res Result
	a, sel, err := Assemble(opts)
	if err != nil {
		return res, err
	}
	res.Selection = sel
	c := opts.Compression
	if c == "" {
		c = Gzip
	}
	n, err := a.WriteCompressed(w, c)
	if err != nil {
		return res, fmt.Errorf("write initramfs: %w", err)
	}
	res.ArchiveSize = n
	return res, nil
}

// Assemble returns the archive Build would write, uncompressed.
func Assemble(opts Options) (*Archive, Selection, error) {
	var sel Selection
	if opts.Init == "" {
		return nil, sel, errors.New("initramfs: no init program")
	}
	a := NewArchive(opts.MTime)
	if err := a.AddFileFrom("init", 0o755, opts.Init); err != nil {
		return nil, sel, fmt.Errorf("initramfs: init: %w", err)
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "sysroot", "lib/modules"} {
		if err := a.AddDir(d, 0o755); err != nil {
			return nil, sel, err
		}
	}
	// The kernel opens /dev/console for init's standard streams before
	// any devtmpfs exists.
	if err := a.AddCharDevice("dev/console", 0o600, 5, 1); err != nil {
		return nil, sel, err
	}
	if opts.Shell != "" {
		if err := addShell(a, opts.Shell); err != nil {
			return nil, sel, err
		}
	}
	if opts.Modules != "" {
		m, err := OpenModules(opts.Modules)
		if err != nil {
			return nil, sel, err
		}
		want := opts.Want
		if want == nil {
			want = DefaultModules
		}
		if sel, err = m.Select(want); err != nil {
			return nil, sel, err
		}
		if err := m.AddTo(a, sel); err != nil {
			return nil, sel, fmt.Errorf("initramfs: modules: %w", err)
		}
	}
	return a, sel, nil
}

// addShell copies a static shell to /bin/busybox with /bin/sh pointing
// at it (busybox runs the applet its name says).
func addShell(a *Archive, shell string) error {
	fi, err := os.Stat(shell)
	if err != nil {
		return fmt.Errorf("initramfs: shell: %w", err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("initramfs: shell %s is not executable", shell)
	}
	name := path.Base(shell)
	if name == "sh" {
		return a.AddFileFrom("bin/sh", 0o755, shell)
	}
	if err := a.AddFileFrom(path.Join("bin", name), 0o755, shell); err != nil {
		return err
	}
	return a.AddSymlink("bin/sh", name)
}
