package btrfsnorm

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
)

// reservedStart is the device's first MiB, which btrfs never allocates
// (boot loaders may live there); only its superblock is btrfs's.
const reservedStart = 1 << 20

// zeroFree zeroes what no tree references: the free space of every block
// group (old copies of tree blocks, freed data) and the device's
// unallocated space up to its last device extent (what mkfs.btrfs
// wrote into the temporary chunks it dropped). Superblocks are skipped;
// blocks already zero are not written, so holes of a sparse image stay
// holes. Space beyond the last device extent is left alone: an image's
// is a hole, a device's not btrfs's business until it is allocated.
func (n *normalizer) zeroFree() error {
	byStart := func(x, y span) int { return cmp.Compare(x.start, y.start) }
	slices.SortFunc(n.used, byStart)
	slices.SortFunc(n.groups, byStart)
	slices.SortFunc(n.devExtents, byStart)
	for _, g := range n.groups {
		at := g.start
		i, _ := slices.BinarySearchFunc(n.used, g.start, func(s span, v uint64) int { return cmp.Compare(s.start+s.length, v+1) })
		for ; i < len(n.used) && n.used[i].start < g.start+g.length; i++ {
			if u := n.used[i]; u.start > at {
				if err := n.zeroLogical(at, u.start-at); err != nil {
					return err
				}
			}
			at = max(at, n.used[i].start+n.used[i].length)
		}
		if end := g.start + g.length; end > at {
			if err := n.zeroLogical(at, end-at); err != nil {
				return err
			}
		}
	}
	at := uint64(reservedStart)
	for _, e := range n.devExtents {
		if e.start > at {
			if err := n.zeroPhysical(at, e.start); err != nil {
				return err
			}
		}
		at = max(at, e.start+e.length)
	}
	return nil
}

// zeroLogical zeroes every copy of a range of logical addresses.
func (n *normalizer) zeroLogical(start, length uint64) error {
	phys, err := n.chunks.physical(start, length)
	if err != nil {
		return fmt.Errorf("free space at %d: %w", start, err)
	}
	for _, p := range phys {
		if err := n.zeroPhysical(p, p+length); err != nil {
			return err
		}
	}
	return nil
}

// zeroPhysical zeroes the non-zero sectors of [start, end) of the
// device, but for superblocks.
func (n *normalizer) zeroPhysical(start, end uint64) error {
	end = min(end, uint64(n.size))
	for _, m := range superMirrors {
		m := uint64(m)
		if start < m+superSize && m < end {
			if start < m {
				if err := n.zeroPhysical(start, m); err != nil {
					return err
				}
			}
			return n.zeroPhysical(m+superSize, end)
		}
	}
	const chunkSize = 1 << 20
	sector := n.sb.sectorSize
	buf, zero := make([]byte, chunkSize), make([]byte, chunkSize)
	for at := start; at < end; {
		b := buf[:min(chunkSize, end-at)]
		if err := n.readAt(b, at); err != nil {
			return fmt.Errorf("free space at %d: %w", at, err)
		}
		run := -1 // where the current run of non-zero sectors began
		for off := 0; ; off += sector {
			off = min(off, len(b))
			s := b[off:min(off+sector, len(b))]
			if len(s) > 0 && !bytes.Equal(s, zero[:len(s)]) {
				if run < 0 {
					run = off
				}
				continue
			}
			if run >= 0 {
				if err := n.writeAt(zero[:off-run], at+uint64(run)); err != nil {
					return fmt.Errorf("free space at %d: %w", at+uint64(run), err)
				}
				n.report.Zeroed += int64(off - run)
				run = -1
			}
			if len(s) == 0 {
				break
			}
		}
		at += uint64(len(b))
	}
	return nil
}
