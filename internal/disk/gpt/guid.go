package gpt

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID is a globally unique identifier, held in the order its text form
// is written (RFC 4122). On disk, GPT stores the first three fields
// little-endian (Microsoft's mixed-endian layout); encode and decode
// convert.
type GUID [16]byte

// Partition types cairn uses (UEFI specification, Discoverable
// Partitions Specification).
var (
	// TypeESP is the EFI system partition.
	TypeESP = MustParseGUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
	// TypeLinuxData is a Linux file system.
	TypeLinuxData = MustParseGUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4")
	// TypeBIOSBoot is GRUB's BIOS boot partition.
	TypeBIOSBoot = MustParseGUID("21686148-6449-6E6F-744E-656564454649")
)

// ParseGUID reads the text form, 8-4-4-4-12 hexadecimal digits, either case.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, fmt.Errorf("GUID %q: want 8-4-4-4-12 hexadecimal digits", s)
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(raw) != 16 {
		return g, fmt.Errorf("GUID %q: want 8-4-4-4-12 hexadecimal digits", s)
	}
	copy(g[:], raw)
	return g, nil
}

// MustParseGUID is ParseGUID for constants.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the upper-case text form, as sgdisk and the UEFI
// specification write it.
func (g GUID) String() string {
	h := strings.ToUpper(hex.EncodeToString(g[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// IsZero reports whether g is the null GUID (an unused entry).
func (g GUID) IsZero() bool { return g == GUID{} }

// encode returns the on-disk bytes.
func (g GUID) encode() [16]byte {
	var b [16]byte
	b[0], b[1], b[2], b[3] = g[3], g[2], g[1], g[0]
	b[4], b[5] = g[5], g[4]
	b[6], b[7] = g[7], g[6]
	copy(b[8:], g[8:])
	return b
}

func decodeGUID(b []byte) GUID {
	var g GUID
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	copy(g[8:], b[8:16])
	return g
}

// NewGUID returns a random (version 4) GUID.
func NewGUID() (GUID, error) {
	var g GUID
	if _, err := rand.Read(g[:]); err != nil {
		return g, err
	}
	return version4(g), nil
}

// DerivedGUID returns a version 4 GUID that is a function of seed and
// name: the same seed always gives a disk the same identifiers, which is
// what makes an image reproducible (as systemd-repart's --seed does).
func DerivedGUID(seed []byte, name string) GUID {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte(name))
	var g GUID
	copy(g[:], m.Sum(nil))
	return version4(g)
}

func version4(g GUID) GUID {
	g[6] = g[6]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g
}
