package ramboot

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestADVSetGet(t *testing.T) {
	a := EmptyADV()
	if _, ok := a.Get(TagBootOnce); ok {
		t.Fatal("an empty ADV has a boot-once entry")
	}
	if err := a.Set(TagMenuSave, "regular"); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(TagBootOnce, "new"); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(TagBootOnce, "old"); err != nil {
		t.Fatal(err)
	}
	b, err := ParseADV(a[:])
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := b.Get(TagBootOnce); !ok || v != "old" {
		t.Errorf("boot once %q %v, want old", v, ok)
	}
	if v, ok := b.Get(TagMenuSave); !ok || v != "regular" {
		t.Errorf("menu save %q %v, want regular", v, ok)
	}
	// The data as syslinux lays it out: the item kept first, then the
	// one replaced, then the end tag.
	want := []byte{TagMenuSave, 7, 'r', 'e', 'g', 'u', 'l', 'a', 'r', TagBootOnce, 3, 'o', 'l', 'd', 0}
	if got := b[8 : 8+len(want)]; string(got) != string(want) {
		t.Errorf("data % x, want % x", got, want)
	}
	if err := b.Set(TagBootOnce, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Get(TagBootOnce); ok {
		t.Error("boot once still there after deleting it")
	}
	if err := b.Set(TagBootOnce, string(make([]byte, 256))); err == nil {
		t.Error("a 256-byte value was accepted")
	}
	if err := b.Set(0, "x"); err == nil {
		t.Error("tag 0 was accepted")
	}
}

// TestADVLayout checks the bytes against the format's definition: the
// magics, the checksum (data words plus it sum to magic 2) and the two
// copies equal.
func TestADVLayout(t *testing.T) {
	a := EmptyADV()
	a.Set(TagBootOnce, "new")
	for c := 0; c < 2; c++ {
		b := a[c*ADVSize : (c+1)*ADVSize]
		if m := binary.LittleEndian.Uint32(b); m != 0x5a2d2fa5 {
			t.Errorf("copy %d: head magic %#x", c, m)
		}
		if m := binary.LittleEndian.Uint32(b[508:]); m != 0xdd28bf64 {
			t.Errorf("copy %d: tail magic %#x", c, m)
		}
		var sum uint32
		for i := 4; i < 508; i += 4 {
			sum += binary.LittleEndian.Uint32(b[i:])
		}
		if sum != 0xa3041767 {
			t.Errorf("copy %d: checksum adds up to %#x", c, sum)
		}
	}
	if string(a[:ADVSize]) != string(a[ADVSize:]) {
		t.Error("the two copies differ")
	}
}

// TestParseADVTorn: a write torn in the first copy leaves the second,
// which is taken; both broken is ErrNoADV.
func TestParseADVTorn(t *testing.T) {
	a := EmptyADV()
	a.Set(TagBootOnce, "new")
	torn := a
	torn[20] ^= 0xff
	b, err := ParseADV(torn[:])
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Get(TagBootOnce); v != "new" {
		t.Errorf("boot once %q from the second copy", v)
	}
	torn[ADVSize+20] ^= 0xff
	if _, err := ParseADV(torn[:]); !errors.Is(err, ErrNoADV) {
		t.Errorf("both copies broken: %v", err)
	}
	if _, err := ParseADV(make([]byte, 10)); err == nil {
		t.Error("10 bytes parsed as an ADV")
	}
}
