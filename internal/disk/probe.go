package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cairnlinux/cairn/internal/disk/gpt"
)

// Signature is something found on a device: a partition table or a file
// system.
type Signature struct {
	// Offset is where the thing begins, in bytes from the device's start.
	Offset int64
	// Partition is the partition it lies in (0 for the whole device).
	Partition int
	// Kind is "gpt", "mbr", "btrfs", "ext4" (ext2/3/4), "vfat", "exfat",
	// "ntfs", "xfs", "swap", "crypto_LUKS", "iso9660".
	Kind  string
	Label string
	UUID  string
}

func (s Signature) String() string {
	var b strings.Builder
	switch s.Kind {
	case "gpt":
		b.WriteString("a GPT partition table")
	case "mbr":
		b.WriteString("an MBR partition table")
	default:
		fmt.Fprintf(&b, "a %s file system", s.Kind)
	}
	if s.Label != "" {
		fmt.Fprintf(&b, " labelled %q", s.Label)
	}
	if s.UUID != "" && s.Kind != "gpt" {
		fmt.Fprintf(&b, " (UUID %s)", s.UUID)
	}
	if s.Partition > 0 {
		fmt.Fprintf(&b, " in partition %d", s.Partition)
	}
	return b.String()
}

// Matches reports whether sig is the file system spec names (UUID=… or
// LABEL=…; UUIDs compare without regard to case, as blkid prints vfat's
// in capitals).
func (s Signature) Matches(spec string) bool {
	switch {
	case strings.HasPrefix(spec, "UUID="):
		return s.UUID != "" && strings.EqualFold(s.UUID, spec[len("UUID="):])
	case strings.HasPrefix(spec, "LABEL="):
		return s.Label != "" && s.Label == spec[len("LABEL="):]
	}
	return false
}

// probeLen is what Probe reads at an offset: enough for every magic it
// looks for (btrfs's superblock at 64 KiB, iso9660's at 32 KiB).
const probeLen = 64<<10 + 4096

// Signatures lists the partition tables and file systems on a device of
// size bytes, as wipefs and blkid would find them: on the whole device,
// and at the start of every partition its GPT or MBR names.
func Signatures(r io.ReaderAt, size int64) ([]Signature, error) {
	var sigs []Signature
	head, err := readAt(r, 0, probeLen, size)
	if err != nil {
		return nil, err
	}
	if fs, ok := probeFS(head); ok {
		sigs = append(sigs, fs)
	}
	type part struct {
		n           int
		start, size int64
	}
	var parts []part
	if t, err := gpt.Read(r, size, 0); err == nil {
		sigs = append(sigs, Signature{Kind: "gpt", UUID: t.DiskGUID.String()})
		for _, p := range t.Partitions {
			parts = append(parts, part{p.Number, int64(p.First) * 512, int64(p.Sectors()) * 512})
		}
	} else if len(head) >= 512 && head[510] == 0x55 && head[511] == 0xaa && len(sigs) == 0 {
		// An MBR: a boot sector that is not a file system's, with at
		// least one partition entry.
		le := binary.LittleEndian
		for i := 0; i < 4; i++ {
			e := head[446+16*i:]
			if e[4] == 0 || e[4] == 0xee {
				continue
			}
			parts = append(parts, part{i + 1, int64(le.Uint32(e[8:])) * 512, int64(le.Uint32(e[12:])) * 512})
		}
		if len(parts) > 0 {
			sigs = append(sigs, Signature{Kind: "mbr"})
		}
	}
	for _, p := range parts {
		if p.start <= 0 || p.start >= size {
			continue
		}
		buf, err := readAt(r, p.start, min(probeLen, p.size), size)
		if err != nil {
			return nil, err
		}
		if fs, ok := probeFS(buf); ok {
			fs.Offset, fs.Partition = p.start, p.n
			sigs = append(sigs, fs)
		}
	}
	return sigs, nil
}

func readAt(r io.ReaderAt, off, n, size int64) ([]byte, error) {
	n = min(n, size-off)
	if n <= 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read at %d: %w", off, err)
	}
	return buf[:got], nil
}

// probeFS recognises a file system from its first bytes.
func probeFS(b []byte) (Signature, bool) {
	at := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	le := binary.LittleEndian
	switch {
	case at(0x10040, "_BHRfS_M"):
		return Signature{Kind: "btrfs", UUID: uuid(b[0x10020:]), Label: cstring(b[0x1012b : 0x1012b+256])}, true
	case len(b) >= 1024+0x88 && le.Uint16(b[1024+0x38:]) == 0xef53:
		return Signature{Kind: "ext4", UUID: uuid(b[1024+0x68:]), Label: cstring(b[1024+0x78 : 1024+0x88])}, true
	case at(0, "XFSB"):
		return Signature{Kind: "xfs", UUID: uuid(b[32:]), Label: cstring(b[108:120])}, true
	case at(0, "LUKS\xba\xbe"):
		return Signature{Kind: "crypto_LUKS", UUID: cstring(b[168:208])}, true
	case at(4086, "SWAPSPACE2"), at(4086, "SWAP-SPACE"):
		return Signature{Kind: "swap", UUID: uuid(b[1024+12:]), Label: cstring(b[1024+28 : 1024+44])}, true
	case at(3, "EXFAT   "):
		return Signature{Kind: "exfat"}, true
	case at(3, "NTFS    "):
		return Signature{Kind: "ntfs"}, true
	case at(0x8001, "CD001"):
		return Signature{Kind: "iso9660", Label: strings.TrimSpace(string(b[0x8028:0x8048]))}, true
	case len(b) >= 512 && b[510] == 0x55 && b[511] == 0xaa && (at(82, "FAT32   ") || at(54, "FAT12   ") || at(54, "FAT16   ") || at(54, "FAT     ")):
		s := Signature{Kind: "vfat"}
		if at(82, "FAT32   ") {
			s.UUID = fmt.Sprintf("%04X-%04X", le.Uint16(b[69:]), le.Uint16(b[67:]))
			s.Label = strings.TrimSpace(string(b[71:82]))
		} else {
			s.UUID = fmt.Sprintf("%04X-%04X", le.Uint16(b[41:]), le.Uint16(b[39:]))
			s.Label = strings.TrimSpace(string(b[43:54]))
		}
		if s.Label == "NO NAME" {
			s.Label = ""
		}
		return s, true
	}
	return Signature{}, false
}

func uuid(b []byte) string {
	if len(b) < 16 {
		return ""
	}
	h := fmt.Sprintf("%x", b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}
