package apk

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Checksum is a package identity or file digest as apk stores it: the raw
// digest bytes (20 for SHA-1, 16 for legacy MD5).
type Checksum []byte

// ParseChecksum reads apk's encodings: "Q1"+base64 and "X1"+hex for SHA-1,
// and bare hex for legacy MD5.
func ParseChecksum(s string) (Checksum, error) {
	if len(s) < 2 {
		return nil, fmt.Errorf("checksum %q: too short", s)
	}
	switch {
	case strings.HasPrefix(s, "Q1"):
		b, err := base64.StdEncoding.DecodeString(s[2:])
		if err != nil || len(b) != sha1.Size {
			return nil, fmt.Errorf("checksum %q: not a base64 SHA-1", s)
		}
		return b, nil
	case strings.HasPrefix(s, "X1"):
		b, err := hex.DecodeString(s[2:])
		if err != nil || len(b) != sha1.Size {
			return nil, fmt.Errorf("checksum %q: not a hex SHA-1", s)
		}
		return b, nil
	default:
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 16 {
			return nil, fmt.Errorf("checksum %q: unknown encoding", s)
		}
		return b, nil
	}
}

// String renders the checksum as apk writes it ("Q1..." for SHA-1).
func (c Checksum) String() string {
	switch len(c) {
	case 0:
		return ""
	case sha1.Size:
		return "Q1" + base64.StdEncoding.EncodeToString(c)
	default:
		return hex.EncodeToString(c)
	}
}
