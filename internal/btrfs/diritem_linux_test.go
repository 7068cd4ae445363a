package btrfs

import (
	"encoding/binary"
	"testing"
)

func dirItem(objectID uint64, name string) []byte {
	b := make([]byte, 30+len(name))
	binary.LittleEndian.PutUint64(b[0:], objectID)
	b[8] = 132 // ROOT_ITEM_KEY
	binary.LittleEndian.PutUint16(b[27:], uint16(len(name)))
	copy(b[30:], name)
	return b
}

func TestFindDirItem(t *testing.T) {
	both := append(dirItem(300, "other"), dirItem(257, "default")...)
	tests := []struct {
		name  string
		item  []byte
		found bool
		id    uint64
		err   bool
	}{
		{"single", dirItem(257, "default"), true, 257, false},
		{"second of two", both, true, 257, false},
		{"absent", dirItem(300, "other"), false, 0, false},
		{"truncated", dirItem(257, "default")[:20], false, 0, true},
	}
	for _, tt := range tests {
		found, id, err := findDirItem(tt.item, "default")
		if found != tt.found || id != tt.id || (err != nil) != tt.err {
			t.Errorf("%s: got %t %d %v; want %t %d err=%t", tt.name, found, id, err, tt.found, tt.id, tt.err)
		}
	}
}
