package apkfile

// This file writes tar headers byte for byte the way the tools that make
// Alpine's files write them. archive/tar cannot: it names PAX headers
// differently, orders records by key and has no room for abuild's legacy
// checksum in the linkname field. Three dialects are needed:
//
//   - GNU tar --format=posix with abuild's --pax-option (control and data
//     parts of a package): a PAX header named "DIR/PaxHeaders/BASE" before
//     every entry, holding "ctime=0" and "atime=0", extended by abuild-tar
//     with APK-TOOLS.checksum.SHA1.
//   - GNU tar's default format with --numeric-owner (abuild-sign's
//     signature member): magic "ustar  ", no user or group names.
//   - apk-tools' own tar writer (apk index): magic "ustar  ", 12-digit size
//     and mtime fields without a terminating NUL, owner names "root".

import (
	"bytes"
	"encoding/hex"
	"path"
	"strconv"
)

const (
	blockSize = 512
	// recordSize is GNU tar's default record (blocking factor 20): a
	// non-cut archive is padded with zeros to a multiple of it.
	recordSize = 20 * blockSize

	maxOctal7  = 0o7777777     // mode, uid, gid
	maxOctal11 = 0o77777777777 // size, mtime
)

type block [blockSize]byte

// Header field offsets and lengths (POSIX ustar).
const (
	offName, lenName         = 0, 100
	offMode, lenMode         = 100, 8
	offUID, lenUID           = 108, 8
	offGID, lenGID           = 116, 8
	offSize, lenSize         = 124, 12
	offMtime, lenMtime       = 136, 12
	offChksum, lenChksum     = 148, 8
	offTypeflag              = 156
	offLinkname, lenLinkname = 157, 100
	offMagic                 = 257
	offUname, lenUname       = 265, 32
	offGname, lenGname       = 297, 32
)

// setString copies s into a field, truncating it like strncpy: a value
// that fills the field has no terminating NUL.
func (b *block) setString(off, n int, s string) {
	copy(b[off:off+n], s)
}

// setOctal writes v as zero-padded octal filling the field; with nul the
// last byte is a NUL terminator (GNU tar), without it every byte is a
// digit (apk's size and mtime).
func (b *block) setOctal(off, n int, v int64, nul bool) {
	digits := n
	if nul {
		digits--
		b[off+digits] = 0
	}
	s := strconv.FormatInt(v, 8)
	for i := 0; i < digits; i++ {
		j := len(s) - digits + i
		if j < 0 {
			b[off+i] = '0'
		} else {
			b[off+i] = s[j]
		}
	}
}

// setChecksum computes the header checksum: the byte sum with the
// checksum field read as spaces, written as six octal digits, a NUL and
// a space.
func (b *block) setChecksum() {
	for i := 0; i < lenChksum; i++ {
		b[offChksum+i] = ' '
	}
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	b.setOctal(offChksum, lenChksum-1, sum, true)
}

// paxRecord is one "key=value" record of a PAX extended header.
type paxRecord struct {
	key   string
	value []byte
}

// formatPAX renders records as "<len> <key>=<value>\n", where len counts
// the whole record including its own digits.
func formatPAX(recs []paxRecord) []byte {
	var buf bytes.Buffer
	for _, r := range recs {
		rest := 1 + len(r.key) + 1 + len(r.value) + 1 // " key=value\n"
		n := rest + len(strconv.Itoa(rest))
		if len(strconv.Itoa(n)) != len(strconv.Itoa(rest)) {
			n = rest + len(strconv.Itoa(n))
		}
		buf.WriteString(strconv.Itoa(n))
		buf.WriteByte(' ')
		buf.WriteString(r.key)
		buf.WriteByte('=')
		buf.Write(r.value)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// tarEntry is one archive member as GNU tar --format=posix writes it.
type tarEntry struct {
	name         string // directories end in "/"
	mode         int64  // permission bits, 07777
	uid, gid     int64
	uname, gname string
	mtime        int64
	typeflag     byte
	linkname     string
	body         []byte
	// xattrs and checksum become PAX records; legacy puts abuild-tar's
	// binary copy of the checksum into the unused linkname field.
	xattrs   []paxRecord
	checksum []byte
	legacy   bool
}

// paxHeaderName is GNU tar's exthdr.name=%d/PaxHeaders/%f.
func paxHeaderName(name string) string {
	clean := name
	for len(clean) > 1 && clean[len(clean)-1] == '/' {
		clean = clean[:len(clean)-1]
	}
	dir, file := path.Split(clean)
	if dir == "" {
		dir = "."
	} else {
		dir = dir[:len(dir)-1]
	}
	return dir + "/PaxHeaders/" + file
}

// writePosixEntry appends e to buf, preceded by its PAX header.
func writePosixEntry(buf *bytes.Buffer, e *tarEntry) {
	size := int64(len(e.body))
	var recs []paxRecord
	if len(e.name) > lenName {
		recs = append(recs, paxRecord{"path", []byte(e.name)})
	}
	if len(e.linkname) > lenLinkname {
		recs = append(recs, paxRecord{"linkpath", []byte(e.linkname)})
	}
	if size > maxOctal11 {
		recs = append(recs, paxRecord{"size", []byte(strconv.FormatInt(size, 10))})
	}
	if e.uid > maxOctal7 {
		recs = append(recs, paxRecord{"uid", []byte(strconv.FormatInt(e.uid, 10))})
	}
	if e.gid > maxOctal7 {
		recs = append(recs, paxRecord{"gid", []byte(strconv.FormatInt(e.gid, 10))})
	}
	if len(e.uname) > lenUname {
		recs = append(recs, paxRecord{"uname", []byte(e.uname)})
	}
	if len(e.gname) > lenGname {
		recs = append(recs, paxRecord{"gname", []byte(e.gname)})
	}
	recs = append(recs, e.xattrs...)
	recs = append(recs, paxRecord{"ctime", []byte("0")}, paxRecord{"atime", []byte("0")})
	if e.checksum != nil {
		recs = append(recs, paxRecord{"APK-TOOLS.checksum.SHA1", []byte(hex.EncodeToString(e.checksum))})
	}
	pax := formatPAX(recs)

	var h block
	h.setString(offName, lenName, paxHeaderName(e.name))
	h.setOctal(offMode, lenMode, 0o644, true)
	h.setOctal(offUID, lenUID, 0, true)
	h.setOctal(offGID, lenGID, 0, true)
	h.setOctal(offSize, lenSize, int64(len(pax)), true)
	h.setOctal(offMtime, lenMtime, e.mtime, true)
	h[offTypeflag] = 'x'
	copy(h[offMagic:], "ustar\x0000")
	h.setChecksum()
	buf.Write(h[:])
	writeBody(buf, pax)

	h = block{}
	h.setString(offName, lenName, e.name)
	h.setOctal(offMode, lenMode, e.mode, true)
	// Values too large for a field travel in the PAX header; the field
	// then holds 0.
	h.setOctal(offUID, lenUID, fitOctal(e.uid, maxOctal7), true)
	h.setOctal(offGID, lenGID, fitOctal(e.gid, maxOctal7), true)
	h.setOctal(offSize, lenSize, fitOctal(size, maxOctal11), true)
	h.setOctal(offMtime, lenMtime, e.mtime, true)
	h[offTypeflag] = e.typeflag
	h.setString(offLinkname, lenLinkname, e.linkname)
	copy(h[offMagic:], "ustar\x0000")
	h.setString(offUname, lenUname, e.uname)
	h.setString(offGname, lenGname, e.gname)
	if e.legacy && e.checksum != nil {
		// abuild-tar's "APK2" record: magic, OpenSSL's NID of SHA-1
		// (64) and the digest length, both little-endian 16-bit, then
		// the digest, after three NULs that keep linkname empty.
		l := h[offLinkname+3:]
		copy(l, "APK2")
		l[4], l[5] = 64, 0
		l[6], l[7] = byte(len(e.checksum)), 0
		copy(l[8:], e.checksum)
	}
	h.setChecksum()
	buf.Write(h[:])
	writeBody(buf, e.body)
}

// writeGNUEntry appends a regular file entry in the format of GNU tar's
// default (gnu) format with --numeric-owner, as abuild-sign writes the
// signature files.
func writeGNUEntry(buf *bytes.Buffer, name string, mtime int64, body []byte) {
	var h block
	h.setString(offName, lenName, name)
	h.setOctal(offMode, lenMode, 0o644, true)
	h.setOctal(offUID, lenUID, 0, true)
	h.setOctal(offGID, lenGID, 0, true)
	h.setOctal(offSize, lenSize, int64(len(body)), true)
	h.setOctal(offMtime, lenMtime, mtime, true)
	h[offTypeflag] = '0'
	copy(h[offMagic:], "ustar  \x00")
	h.setChecksum()
	buf.Write(h[:])
	writeBody(buf, body)
}

// writeAPKEntry appends a regular file entry as apk-tools' tar writer
// (apk_tar_write_entry) makes it, for APKINDEX archives.
func writeAPKEntry(buf *bytes.Buffer, name string, mtime int64, body []byte) {
	var h block
	h.setString(offName, lenName, name)
	h.setOctal(offMode, lenMode, 0o644, true)
	h.setOctal(offUID, lenUID, 0, true)
	h.setOctal(offGID, lenGID, 0, true)
	h.setOctal(offSize, lenSize, int64(len(body)), false)
	h.setOctal(offMtime, lenMtime, mtime, false)
	h[offTypeflag] = '0'
	copy(h[offMagic:], "ustar  \x00")
	h.setString(offUname, lenUname, "root")
	h.setString(offGname, lenGname, "root")
	h.setChecksum()
	buf.Write(h[:])
	writeBody(buf, body)
}

// writeBody appends data padded with zeros to whole blocks.
func writeBody(buf *bytes.Buffer, data []byte) {
	buf.Write(data)
	if r := len(data) % blockSize; r != 0 {
		buf.Write(make([]byte, blockSize-r))
	}
}

// writeEnd appends the two zero blocks that end an archive, then pads it
// to a whole record when record is set (GNU tar does, apk does not).
func writeEnd(buf *bytes.Buffer, record bool) {
	buf.Write(make([]byte, 2*blockSize))
	if record {
		if r := buf.Len() % recordSize; r != 0 {
			buf.Write(make([]byte, recordSize-r))
		}
	}
}

func fitOctal(v, limit int64) int64 {
	if v > limit {
		return 0
	}
	return v
}
