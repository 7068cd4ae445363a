package cairninit

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FS is what a device's superblock says.
type FS struct {
	// Type is the file system type to mount it with: btrfs or ext4.
	Type string
	// UUID is the file system's UUID as blkid prints it (for btrfs, the
	// fsid shared by all its devices).
	UUID string
	// Label is the file system's label.
	Label string
}

// Superblock positions (btrfs: fs/btrfs/ctree.h struct btrfs_super_block,
// the primary copy at 64 KiB; ext2/3/4: struct ext4_super_block at 1 KiB).
const (
	btrfsSuperOffset = 64 << 10
	btrfsFsidOffset  = 0x20
	btrfsMagicOffset = 0x40
	btrfsLabelOffset = 0x12b
	btrfsLabelSize   = 256
	btrfsMagic       = "_BHRfS_M"

	extSuperOffset = 1024
	extMagicOffset = 0x38
	extUUIDOffset  = 0x68
	extLabelOffset = 0x78
	extLabelSize   = 16
	extMagic       = 0xef53

	// probeSize is what Probe reads: enough for both superblocks.
	probeSize = btrfsSuperOffset + 4096
)

// ErrUnknownFS says a device holds no file system cairn-init recognises.
var ErrUnknownFS = errors.New("no btrfs or ext4 superblock")

// Probe reads the superblock of the device (or image) r.
func Probe(r io.ReaderAt) (FS, error) {
	buf := make([]byte, probeSize)
	n, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return FS{}, err
	}
	buf = buf[:n]
	if len(buf) >= btrfsSuperOffset+btrfsLabelOffset+btrfsLabelSize {
		sb := buf[btrfsSuperOffset:]
		if string(sb[btrfsMagicOffset:btrfsMagicOffset+8]) == btrfsMagic {
			return FS{
				Type:  "btrfs",
				UUID:  formatUUID(sb[btrfsFsidOffset : btrfsFsidOffset+16]),
				Label: cString(sb[btrfsLabelOffset : btrfsLabelOffset+btrfsLabelSize]),
			}, nil
		}
	}
	if len(buf) >= extSuperOffset+extLabelOffset+extLabelSize {
		sb := buf[extSuperOffset:]
		if binary.LittleEndian.Uint16(sb[extMagicOffset:]) == extMagic {
			return FS{
				Type:  "ext4",
				UUID:  formatUUID(sb[extUUIDOffset : extUUIDOffset+16]),
				Label: cString(sb[extLabelOffset : extLabelOffset+extLabelSize]),
			}, nil
		}
	}
	return FS{}, ErrUnknownFS
}

func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// RootSpec is a parsed root=.
type RootSpec struct {
	UUID, Label, Path string
}

// ParseRoot parses root=UUID=…, root=LABEL=… or root=/dev/….
func ParseRoot(s string) (RootSpec, error) {
	if s == "" {
		return RootSpec{}, errors.New("no root= on the kernel command line (root=UUID=<uuid>, root=LABEL=<label> or root=/dev/<device>)")
	}
	return ParseDevice("root", s)
}

// ParseDevice parses the device the kernel command line parameter param
// names: UUID=…, LABEL=… or /dev/….
func ParseDevice(param, s string) (RootSpec, error) {
	switch {
	case s == "":
		return RootSpec{}, fmt.Errorf("%s=: no device (give UUID=<uuid>, LABEL=<label> or /dev/<device>)", param)
	case strings.HasPrefix(s, "UUID="):
		u := strings.ToLower(strings.TrimPrefix(s, "UUID="))
		if len(strings.ReplaceAll(u, "-", "")) != 32 {
			return RootSpec{}, fmt.Errorf("%s=%s: a UUID has 32 hexadecimal digits", param, s)
		}
		return RootSpec{UUID: u}, nil
	case strings.HasPrefix(s, "LABEL="):
		l := strings.TrimPrefix(s, "LABEL=")
		if l == "" {
			return RootSpec{}, fmt.Errorf("%s=%s: empty label", param, s)
		}
		return RootSpec{Label: l}, nil
	case strings.HasPrefix(s, "/dev/"):
		return RootSpec{Path: s}, nil
	}
	return RootSpec{}, fmt.Errorf("%s=%s: cairn-init understands %s=UUID=…, %s=LABEL=… and %s=/dev/…", param, s, param, param, param)
}

func (r RootSpec) String() string {
	switch {
	case r.UUID != "":
		return "UUID=" + r.UUID
	case r.Label != "":
		return "LABEL=" + r.Label
	}
	return r.Path
}

// Matches reports whether a file system is the one r names (for a path,
// any recognised file system).
func (r RootSpec) Matches(fs FS) bool {
	switch {
	case r.UUID != "":
		return strings.EqualFold(strings.ReplaceAll(fs.UUID, "-", ""), strings.ReplaceAll(r.UUID, "-", ""))
	case r.Label != "":
		return fs.Label == r.Label
	}
	return true
}

// Device is a block device found for root=.
type Device struct {
	Path string
	FS   FS
}

// Scanner finds block devices: the names in SysBlock (/sys/class/block)
// as nodes in Dev (/dev, a devtmpfs).
type Scanner struct {
	SysBlock string
	Dev      string
}

// Find looks once for the device root names. It returns every device
// holding the same file system (a btrfs on several devices has one fsid on
// all), the one to mount first; and what it saw, for the message when the
// device never appears.
func (s Scanner) Find(root RootSpec) (found []Device, seen []string, err error) {
	if root.Path != "" {
		f, err := os.Open(root.Path)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		fs, err := Probe(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", root.Path, err)
		}
		return []Device{{Path: root.Path, FS: fs}}, nil, nil
	}
	entries, err := os.ReadDir(s.SysBlock)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		if size, err := os.ReadFile(filepath.Join(s.SysBlock, name, "size")); err == nil && strings.TrimSpace(string(size)) == "0" {
			continue // an empty loop device, a drive without medium
		}
		p := filepath.Join(s.Dev, name)
		f, err := os.Open(p)
		if err != nil {
			continue // its node not there yet
		}
		fs, err := Probe(f)
		f.Close()
		if err != nil {
			seen = append(seen, name)
			continue
		}
		seen = append(seen, fmt.Sprintf("%s (%s UUID=%s LABEL=%q)", name, fs.Type, fs.UUID, fs.Label))
		if root.Matches(fs) {
			found = append(found, Device{Path: p, FS: fs})
		}
	}
	return found, seen, nil
}
