package image

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/unixmode"
)

// archiveStats says what writeRAMArchive stored.
type archiveStats struct {
	entries int
	size    int64
	skipped []string
}

// writeRAMArchive writes the newc archive of a RAM system to w: the
// tree of src without what p leaves out, the files p adds, /init (a
// link to the generation's cairn-init) and /dev/console.
func writeRAMArchive(ctx context.Context, w io.Writer, src Source, p *ramPlan) (archiveStats, error) {
	var st archiveStats
	a, err := ramArchive(ctx, src, p, &st)
	if err != nil {
		return st, err
	}
	n, err := a.WriteTo(w)
	st.size = n
	if err != nil {
		return st, fmt.Errorf("cpio: %w", err)
	}
	return st, nil
}

// ramArchive collects the archive's entries; file contents are read
// when it is written.
func ramArchive(ctx context.Context, src Source, p *ramPlan, st *archiveStats) (*initramfs.Archive, error) {
	// One time for every entry: the epoch (the archive writer has no
	// other).
	a := initramfs.NewArchive(src.Epoch)
	kinds := map[string]Kind{}
	devNums := map[string][2]uint32{}
	var noXattrs []string
	err := Walk(ctx, src.Root, src.Epoch, func(e *Entry) error {
		if e.Path == "." || p.leaveOut[e.Path] {
			return nil
		}
		host := filepath.Join(src.Root, filepath.FromSlash(e.Path))
		mode := unixmode.FileMode(e.Mode)
		kind := e.Kind
		if kind == HardLink {
			// newc could share the data, but the archive writer stores
			// each name whole.
			kind = kinds[e.Link]
			host = filepath.Join(src.Root, filepath.FromSlash(e.Link))
		}
		var err error
		switch kind {
		case Dir:
			err = a.AddDir(e.Path, mode)
		case Regular:
			err = a.AddFileFrom(e.Path, mode, host)
		case Symlink:
			err = a.AddSymlink(e.Path, e.Link)
		case CharDevice:
			dev := [2]uint32{e.DevMajor, e.DevMinor}
			if e.Kind == HardLink {
				dev = devNums[e.Link]
			}
			devNums[e.Path] = dev
			err = a.AddCharDevice(e.Path, mode, dev[0], dev[1])
		default:
			// Block devices, fifos and sockets: the archive writer
			// makes none. A RAM system's /dev is a devtmpfs anyway.
			st.skipped = append(st.skipped, e.Path)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		kinds[e.Path] = kind
		if e.UID != 0 || e.GID != 0 {
			if err := a.SetOwner(e.Path, int(e.UID), int(e.GID)); err != nil {
				return err
			}
		}
		if len(e.Xattrs) > 0 && e.Kind != HardLink {
			names := make([]string, len(e.Xattrs))
			for i, x := range e.Xattrs {
				names[i] = x.Name
			}
			noXattrs = append(noXattrs, fmt.Sprintf("%s (extended attributes %s not stored: the kernel's initramfs unpacker cannot set them)", e.Path, strings.Join(names, ", ")))
		}
		st.entries++
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.skipped = append(st.skipped, noXattrs...)

	// What the image adds: the kernel opens /dev/console for init before
	// any devtmpfs exists; /init starts cairn-init.
	if _, ok := kinds["dev/console"]; !ok {
		if err := a.AddCharDevice("dev/console", 0o600, 5, 1); err != nil {
			return nil, err
		}
		st.entries++
	}
	if err := a.AddSymlink("init", strings.TrimPrefix(layout.CairnInit, "/")); err != nil {
		return nil, err
	}
	st.entries++
	if err := a.AddDir(strings.TrimPrefix(layout.RAMDir, "/"), 0o755); err != nil {
		return nil, err
	}
	st.entries++
	names := make([]string, 0, len(p.added))
	for name := range p.added {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := a.AddFile(name, 0o644, p.added[name]); err != nil {
			return nil, fmt.Errorf("%s: %w (the generation has it already)", name, err)
		}
		st.entries++
	}
	return a, nil
}
