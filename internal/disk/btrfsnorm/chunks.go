package btrfsnorm

import (
	"cmp"
	"fmt"
	"slices"
)

// chunk maps a range of the file system's logical addresses onto its
// device: once (single) or twice (dup).
type chunk struct {
	logical, length uint64
	flags           uint64
	stripes         []uint64 // physical offsets, one per copy
}

// chunkMap is the file system's chunks, sorted by logical address.
type chunkMap struct {
	devid  uint64
	chunks []chunk
}

// add records the chunk item at b (a btrfs_chunk with its stripes) for
// the logical address start, refusing layouts other than single and dup
// on the one device.
func (m *chunkMap) add(start uint64, b []byte) error {
	if len(b) < chunkStripes {
		return fmt.Errorf("chunk at %d: item of %d bytes", start, len(b))
	}
	n := int(u16(b, chunkNumStripes))
	if len(b) < chunkStripes+n*stripeSize {
		return fmt.Errorf("chunk at %d: %d stripes in an item of %d bytes", start, n, len(b))
	}
	c := chunk{logical: start, length: u64(b, chunkLength), flags: u64(b, chunkType)}
	want := 1
	switch p := c.flags & profileMask; p {
	case 0:
	case profileDup:
		want = 2
	default:
		return fmt.Errorf("chunk at %d: block group profile 0x%x: only single and dup are supported", start, p)
	}
	if n != want || c.length == 0 {
		return fmt.Errorf("chunk at %d: %d stripes of %d bytes for profile 0x%x", start, n, c.length, c.flags&profileMask)
	}
	for i := range n {
		s := b[chunkStripes+i*stripeSize:]
		if id := u64(s, stripeDevid); id != m.devid {
			return fmt.Errorf("chunk at %d: a stripe on device %d; only single-device file systems (device %d) are supported", start, id, m.devid)
		}
		c.stripes = append(c.stripes, u64(s, stripeOffset))
	}
	i, found := slices.BinarySearchFunc(m.chunks, start, func(c chunk, l uint64) int { return cmp.Compare(c.logical, l) })
	if found {
		if m.chunks[i].length != c.length || !slices.Equal(m.chunks[i].stripes, c.stripes) {
			return fmt.Errorf("chunk at %d: the superblock and the chunk tree disagree", start)
		}
		return nil
	}
	if i > 0 && m.chunks[i-1].logical+m.chunks[i-1].length > start || i < len(m.chunks) && start+c.length > m.chunks[i].logical {
		return fmt.Errorf("chunk at %d: overlaps another", start)
	}
	m.chunks = slices.Insert(m.chunks, i, c)
	return nil
}

// lookup returns the chunk holding [logical, logical+n).
func (m *chunkMap) lookup(logical, n uint64) (*chunk, error) {
	i, found := slices.BinarySearchFunc(m.chunks, logical, func(c chunk, l uint64) int { return cmp.Compare(c.logical, l) })
	if !found {
		i--
	}
	if i < 0 || logical+n > m.chunks[i].logical+m.chunks[i].length {
		return nil, fmt.Errorf("logical address %d (%d bytes) is in no chunk", logical, n)
	}
	return &m.chunks[i], nil
}

// physical returns where each copy of [logical, logical+n) lies on the
// device.
func (m *chunkMap) physical(logical, n uint64) ([]uint64, error) {
	c, err := m.lookup(logical, n)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, len(c.stripes))
	for i, s := range c.stripes {
		out[i] = s + logical - c.logical
	}
	return out, nil
}
