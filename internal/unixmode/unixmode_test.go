package unixmode

import (
	"io/fs"
	"testing"
)

func TestPerm(t *testing.T) {
	for _, c := range []struct {
		mode fs.FileMode
		bits uint32
	}{
		{0o644, 0o644},
		{fs.ModeDir | 0o755, 0o755},
		{fs.ModeSetuid | 0o4755&0o777, 0o4755},
		{fs.ModeSetgid | 0o2755&0o777, 0o2755},
		{fs.ModeDir | fs.ModeSticky | 0o777, 0o1777},
		{fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | 0o7, 0o7007},
	} {
		if got := Perm(c.mode); got != c.bits {
			t.Errorf("Perm(%v) = %#o, want %#o", c.mode, got, c.bits)
		}
		if got := FileMode(c.bits | 0o100000); got != c.mode&^fs.ModeType {
			t.Errorf("FileMode(%#o) = %v, want %v", c.bits, got, c.mode&^fs.ModeType)
		}
	}
}
