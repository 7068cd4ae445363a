// Package ramboot keeps the RAM images of a diskless node on its boot
// media and gives a new one a one-shot trial: extlinux boots it once
// (syslinux's boot-once, in the ADV of ldlinux.sys), the node confirms
// it, and an image that is not confirmed gives way to the regular one at
// the next boot with no command in between. See docs/ram-trials.md.
package ramboot

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The auxiliary data vector (ADV) of syslinux, as libinstaller's
// advconst.h and setadv.c define it: two identical 512-byte copies at
// the end of ldlinux.sys, each a head magic, a checksum, 500 bytes of
// tagged data (tag, length, value; tag 0 ends them) and a tail magic.
// The checksum makes the sum of the data's 32-bit little-endian words
// plus itself equal advMagic2.
const (
	ADVSize   = 512
	advLen    = ADVSize - 3*4
	advMagic1 = 0x5a2d2fa5
	advMagic2 = 0xa3041767
	advMagic3 = 0xdd28bf64

	// TagBootOnce is ADV_BOOTONCE: a command line (an entry's label)
	// that syslinux boots once, deleting it from the ADV first.
	TagBootOnce = 1
	// TagMenuSave is ADV_MENUSAVE: the menu's saved default.
	TagMenuSave = 2
)

// ADV is the two copies of the auxiliary data vector, as stored.
type ADV [2 * ADVSize]byte

// ErrNoADV says that neither copy of an ADV is consistent.
var ErrNoADV = errors.New("no valid syslinux ADV (neither copy has the magic numbers and checksum)")

// consistent reports whether one 512-byte copy has both magics and a
// checksum that adds up.
func consistent(b []byte) bool {
	if binary.LittleEndian.Uint32(b) != advMagic1 || binary.LittleEndian.Uint32(b[ADVSize-4:]) != advMagic3 {
		return false
	}
	var sum uint32
	for i := 4; i < ADVSize-4; i += 4 {
		sum += binary.LittleEndian.Uint32(b[i:])
	}
	return sum == advMagic2
}

// ParseADV reads an ADV, taking whichever copy is consistent (the first
// if both are), as syslinux does; a torn write leaves the other one.
func ParseADV(b []byte) (ADV, error) {
	var a ADV
	if len(b) != len(a) {
		return a, fmt.Errorf("an ADV is %d bytes, not %d", len(a), len(b))
	}
	switch {
	case consistent(b[:ADVSize]):
		copy(a[:ADVSize], b[:ADVSize])
	case consistent(b[ADVSize:]):
		copy(a[:ADVSize], b[ADVSize:])
	default:
		return a, ErrNoADV
	}
	a.seal()
	return a, nil
}

// EmptyADV is an ADV without data, as `extlinux --reset-adv` writes it.
func EmptyADV() ADV {
	var a ADV
	a.seal()
	return a
}

// seal sets the magics and checksum of the first copy and copies it
// over the second (syslinux's cleanup_adv).
func (a *ADV) seal() {
	b := a[:ADVSize]
	binary.LittleEndian.PutUint32(b, advMagic1)
	sum := uint32(advMagic2)
	for i := 8; i < ADVSize-4; i += 4 {
		sum -= binary.LittleEndian.Uint32(b[i:])
	}
	binary.LittleEndian.PutUint32(b[4:], sum)
	binary.LittleEndian.PutUint32(b[ADVSize-4:], advMagic3)
	copy(a[ADVSize:], b)
}

// data is the tagged area of the first copy.
func (a *ADV) data() []byte { return a[8 : 8+advLen] }

// Get returns the value of tag, and whether it is there.
func (a *ADV) Get(tag byte) (string, bool) {
	d := a.data()
	for i := 0; i+2 <= len(d); {
		t, n := d[i], int(d[i+1])
		if t == 0 || i+2+n > len(d) {
			return "", false
		}
		if t == tag {
			return string(d[i+2 : i+2+n]), true
		}
		i += 2 + n
	}
	return "", false
}

// Set replaces tag's value (an empty value deletes it), keeping the
// other items, as syslinux_setadv does.
func (a *ADV) Set(tag byte, value string) error {
	if tag == 0 {
		return errors.New("ADV tag 0 marks the end of the data; it cannot be set")
	}
	if len(value) > 255 {
		return fmt.Errorf("ADV value %q is %d bytes; at most 255 fit", value, len(value))
	}
	var kept []byte
	d := a.data()
	for i := 0; i+2 <= len(d); {
		t, n := d[i], int(d[i+1])
		if t == 0 || i+2+n > len(d) {
			break
		}
		if t != tag {
			kept = append(kept, d[i:i+2+n]...)
		}
		i += 2 + n
	}
	if value != "" {
		kept = append(kept, tag, byte(len(value)))
		kept = append(kept, value...)
	}
	if len(kept) > len(d) {
		return fmt.Errorf("ADV full: %d bytes of data do not fit in %d", len(kept), len(d))
	}
	clear(d)
	copy(d, kept)
	a.seal()
	return nil
}
