package initramfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Header is one entry of a newc archive, as ReadArchive reports it.
type Header struct {
	Name      string
	Ino       uint32
	Mode      uint32 // st_mode: type and permission bits
	UID, GID  uint32
	Nlink     uint32
	MTime     uint32
	Size      uint32
	RdevMajor uint32
	RdevMinor uint32
	// Data is a regular file's content or a symbolic link's target.
	Data []byte
}

// IsDir, IsRegular and IsSymlink report the entry's type.
func (h Header) IsDir() bool     { return h.Mode&modeType == modeDir }
func (h Header) IsRegular() bool { return h.Mode&modeType == modeRegular }
func (h Header) IsSymlink() bool { return h.Mode&modeType == modeSymlink }

// maxEntrySize bounds what ReadArchive keeps in memory for one entry.
const maxEntrySize = 1 << 30

// ReadArchive reads an uncompressed newc archive up to its trailer and
// returns its entries in order. It is strict: a wrong magic, a bad field
// or a truncated archive is an error.
func ReadArchive(r io.Reader) ([]Header, error) {
	br := bufio.NewReader(r)
	var off int64
	read := func(n int) ([]byte, error) {
		buf := make([]byte, n)
		m, err := io.ReadFull(br, buf)
		off += int64(m)
		if errors.Is(err, io.ErrUnexpectedEOF) || (errors.Is(err, io.EOF) && n > 0) {
			err = fmt.Errorf("truncated at byte %d", off)
		}
		return buf, err
	}
	skipPad := func() error {
		if pad := (4 - off%4) % 4; pad > 0 {
			_, err := read(int(pad))
			return err
		}
		return nil
	}
	var out []Header
	for {
		start := off
		raw, err := read(110)
		if err != nil {
			return out, err
		}
		if string(raw[:6]) != newcMagic {
			return out, fmt.Errorf("byte %d: magic %q, want %q (newc)", start, raw[:6], newcMagic)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(raw[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return out, fmt.Errorf("byte %d: field %d: %w", start, i, err)
			}
			f[i] = uint32(v)
		}
		nameSize := int(f[11])
		if nameSize < 1 || nameSize > 4096 {
			return out, fmt.Errorf("byte %d: name size %d", start, nameSize)
		}
		name, err := read(nameSize)
		if err != nil {
			return out, err
		}
		if name[nameSize-1] != 0 {
			return out, fmt.Errorf("byte %d: name not NUL-terminated", start)
		}
		if err := skipPad(); err != nil {
			return out, err
		}
		h := Header{
			Name: string(name[:nameSize-1]), Ino: f[0], Mode: f[1], UID: f[2], GID: f[3],
			Nlink: f[4], MTime: f[5], Size: f[6], RdevMajor: f[9], RdevMinor: f[10],
		}
		if h.Name == trailerName {
			return out, nil
		}
		if h.Size > maxEntrySize {
			return out, fmt.Errorf("%s: %d bytes", h.Name, h.Size)
		}
		// Copied as it arrives, so a header claiming a huge size costs
		// only what the input holds.
		var data bytes.Buffer
		n, err := io.CopyN(&data, br, int64(h.Size))
		off += n
		if err != nil {
			return out, fmt.Errorf("%s: truncated at byte %d", h.Name, off)
		}
		h.Data = data.Bytes()
		if err := skipPad(); err != nil {
			return out, err
		}
		out = append(out, h)
	}
}
