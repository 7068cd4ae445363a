// Package kmodtest makes kernel module files for tests.
package kmodtest

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// FakeModule makes a minimal ELF relocatable file with a .modinfo
// section, which is all module selection reads of a module.
func FakeModule(info ...string) []byte {
	modinfo := []byte(strings.Join(info, "\x00") + "\x00")
	shstrtab := []byte("\x00.modinfo\x00.shstrtab\x00")
	le := binary.LittleEndian
	var b bytes.Buffer
	modinfoOff := 64
	shstrOff := modinfoOff + len(modinfo)
	shOff := (shstrOff + len(shstrtab) + 7) &^ 7
	// ELF header.
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF")
	hdr[4], hdr[5], hdr[6] = 2, 1, 1 // 64-bit, little endian, version 1
	le.PutUint16(hdr[16:], 1)        // ET_REL
	le.PutUint16(hdr[18:], 62)       // EM_X86_64
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[40:], uint64(shOff))
	le.PutUint16(hdr[52:], 64) // e_ehsize
	le.PutUint16(hdr[58:], 64) // e_shentsize
	le.PutUint16(hdr[60:], 3)  // e_shnum
	le.PutUint16(hdr[62:], 2)  // e_shstrndx
	b.Write(hdr)
	b.Write(modinfo)
	b.Write(shstrtab)
	b.Write(make([]byte, shOff-b.Len()))
	section := func(name, typ uint32, flags, off, size uint64) {
		sh := make([]byte, 64)
		le.PutUint32(sh[0:], name)
		le.PutUint32(sh[4:], typ)
		le.PutUint64(sh[8:], flags)
		le.PutUint64(sh[24:], off)
		le.PutUint64(sh[32:], size)
		le.PutUint64(sh[48:], 1)
		b.Write(sh)
	}
	section(0, 0, 0, 0, 0)
	section(1, 1, 2, uint64(modinfoOff), uint64(len(modinfo))) // .modinfo, PROGBITS, ALLOC
	section(10, 3, 0, uint64(shstrOff), uint64(len(shstrtab))) // .shstrtab, STRTAB
	return b.Bytes()
}
