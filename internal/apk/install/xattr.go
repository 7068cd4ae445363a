package install

import (
	"archive/tar"
	"crypto/sha1"
	"encoding/binary"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

const paxXattrPrefix = "SCHILY.xattr."

// entryXattrs returns the entry's extended attributes (its SCHILY.xattr.*
// PAX records), sorted by name as apk sorts them.
func entryXattrs(h *tar.Header) []rootfs.Xattr {
	var xs []rootfs.Xattr
	for k, v := range h.PAXRecords {
		if name, ok := strings.CutPrefix(k, paxXattrPrefix); ok && name != "" {
			xs = append(xs, rootfs.Xattr{Name: name, Value: []byte(v)})
		}
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].Name < xs[j].Name })
	return xs
}

// xattrChecksum is the digest apk records after a file's mode (a:, M:):
// SHA-1 over the attributes sorted by name, each name and value preceded
// by its length as a big-endian 32-bit number. nil without attributes.
func xattrChecksum(xs []rootfs.Xattr) apk.Checksum {
	if len(xs) == 0 {
		return nil
	}
	h := sha1.New()
	var n [4]byte
	for _, x := range xs {
		binary.BigEndian.PutUint32(n[:], uint32(len(x.Name)))
		h.Write(n[:])
		h.Write([]byte(x.Name))
		binary.BigEndian.PutUint32(n[:], uint32(len(x.Value)))
		h.Write(n[:])
		h.Write(x.Value)
	}
	return h.Sum(nil)
}
