package btrfs

import "testing"

func TestUUIDString(t *testing.T) {
	u := UUID{0x2e, 0x5b, 0x0f, 0x3a, 0x7c, 0x1d, 0x4e, 0x8f, 0x9a, 0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61}
	if got, want := u.String(), "2e5b0f3a-7c1d-4e8f-9a0b-1c2d3e4f5061"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (UUID{}).String(); got != "-" {
		t.Errorf("zero UUID = %q, want -", got)
	}
}

func TestQgroupID(t *testing.T) {
	tests := []struct {
		level uint16
		id    uint64
		want  uint64
	}{
		{0, 257, 257},
		{1, 0, 1 << 48},
		{2, 100, 2<<48 | 100},
	}
	for _, tt := range tests {
		if got := QgroupID(tt.level, tt.id); got != tt.want {
			t.Errorf("QgroupID(%d, %d) = %#x, want %#x", tt.level, tt.id, got, tt.want)
		}
	}
}
