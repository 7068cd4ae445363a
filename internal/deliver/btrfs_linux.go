package deliver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlinux/cairn/internal/store"
)

func (r *Receiver) btrfsProgram() (string, error) {
	if r.BtrfsProgram != "" {
		return r.BtrfsProgram, nil
	}
	p, err := exec.LookPath("btrfs")
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
			if _, serr := os.Stat(filepath.Join(dir, "btrfs")); serr == nil {
				return filepath.Join(dir, "btrfs"), nil
			}
		}
		return "", errNoBtrfsProgram
	}
	return p, nil
}

// receiveBtrfs asks for a send stream against parent and applies it
// with `btrfs receive`, which writes a read-only subvolume into a
// staging tree; the generation-to-be is a writable snapshot of that
// subvolume (the store renames and seals its staging trees itself, and
// a read-only subvolume cannot be moved to another directory).
//
// btrfs-progs applies the stream: the kernel only sends, and a receiver
// is a user-space interpreter of some twenty commands (paths, writes,
// clones, xattrs, times) that btrfs-progs has maintained for years. It
// runs with --chroot, confined to the staging tree, and what it built is
// checked against the signed digest before it is sealed.
func (r *Receiver) receiveBtrfs(ctx context.Context, src Source, parent string, l *Listing) (*store.Staging, error) {
	prog, err := r.btrfsProgram()
	if err != nil {
		return nil, err
	}
	data, err := src.Data(ctx, Request{Method: MethodBtrfs, Parent: parent})
	if err != nil {
		return nil, err
	}
	zr, err := zstd.NewReader(data, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	box, err := r.Store.BeginStaging()
	if err != nil {
		return nil, err
	}
	defer box.Abort()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, "receive", "-e", "--chroot", box.Dir())
	cmd.Stdin = zr
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("btrfs receive: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if _, err := io.Copy(io.Discard, data); err != nil {
		return nil, fmt.Errorf("read the send stream: %w", err)
	}
	entries, err := os.ReadDir(box.Dir())
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, fmt.Errorf("btrfs receive made %d entries, not one subvolume: %w", len(entries), ErrTampered)
	}
	st, err := r.Store.BeginStagingFrom(filepath.Join(box.Dir(), entries[0].Name()))
	if err != nil {
		return nil, err
	}
	if err := setDirMeta(st.Dir(), l); err != nil {
		st.Abort()
		return nil, err
	}
	return st, nil
}
