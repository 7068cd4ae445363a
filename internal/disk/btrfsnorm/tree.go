package btrfsnorm

import (
	"bytes"
	"fmt"
	"slices"
)

// leafItem is an item of a leaf: its key and where its data lies in the
// block.
type leafItem struct {
	key       key
	off, size int
}

// items returns a leaf's items, checking that they lie within the block.
func items(b []byte) ([]leafItem, error) {
	nr := int(u32(b, hdrNritems))
	if hdrSize+nr*itemSize > len(b) {
		return nil, fmt.Errorf("leaf %d: %d items do not fit", u64(b, hdrBytenr), nr)
	}
	out := make([]leafItem, nr)
	for i := range out {
		h := hdrSize + i*itemSize
		it := leafItem{key: getKey(b, h), off: hdrSize + int(u32(b, h+keySize)), size: int(u32(b, h+keySize+4))}
		if it.off < hdrSize+nr*itemSize || it.off+it.size > len(b) {
			return nil, fmt.Errorf("leaf %d: item %d's data lies outside the block", u64(b, hdrBytenr), i)
		}
		out[i] = it
	}
	return out, nil
}

// clearSlack zeroes the bytes of a block that hold nothing: between a
// node's last key pointer and its end, between a leaf's item headers and
// its items' data, and any gap between items' data. The kernel leaves
// there whatever the block held before.
func clearSlack(b []byte, level uint8, its []leafItem) {
	nr := int(u32(b, hdrNritems))
	if level > 0 {
		clear(b[hdrSize+nr*ptrSize:])
		return
	}
	spans := slices.Clone(its)
	slices.SortFunc(spans, func(x, y leafItem) int { return x.off - y.off })
	at := hdrSize + nr*itemSize
	for _, s := range spans {
		if s.off > at {
			clear(b[at:s.off])
		}
		at = max(at, s.off+s.size)
	}
	clear(b[at:])
}

// readBlock reads the tree block at a logical address from its first
// copy and checks it: checksum, address, file system, level.
func (n *normalizer) readBlock(logical uint64, level uint8) ([]byte, []uint64, error) {
	phys, err := n.chunks.physical(logical, uint64(n.sb.nodeSize))
	if err != nil {
		return nil, nil, fmt.Errorf("tree block %d: %w", logical, err)
	}
	b := make([]byte, n.sb.nodeSize)
	if err := n.readAt(b, phys[0]); err != nil {
		return nil, nil, fmt.Errorf("tree block %d: %w", logical, err)
	}
	switch {
	case !sumOK(b):
		return nil, nil, fmt.Errorf("tree block %d: bad checksum", logical)
	case u64(b, hdrBytenr) != logical:
		return nil, nil, fmt.Errorf("tree block %d: says it is at %d", logical, u64(b, hdrBytenr))
	case !bytes.Equal(b[32:32+uuidSize], n.sb.metaFsid[:]):
		return nil, nil, fmt.Errorf("tree block %d: belongs to another file system", logical)
	case b[hdrLevel] != level:
		return nil, nil, fmt.Errorf("tree block %d: level %d, expected %d", logical, b[hdrLevel], level)
	case level > 0 && hdrSize+int(u32(b, hdrNritems))*ptrSize > len(b):
		return nil, nil, fmt.Errorf("node %d: %d pointers do not fit", logical, u32(b, hdrNritems))
	}
	return b, phys, nil
}

// writeBlock checksums a tree block and writes every copy of it.
func (n *normalizer) writeBlock(b []byte, phys []uint64) error {
	setSum(b)
	for _, p := range phys {
		if err := n.writeAt(b, p); err != nil {
			return fmt.Errorf("tree block %d: %w", u64(b, hdrBytenr), err)
		}
	}
	n.report.TreeBlocks++
	return nil
}

// walk calls fn for every block of the tree rooted at root (at level),
// depth first in key order, skipping blocks seen already (through seen,
// which may be shared between walks: snapshots share blocks). fn gets
// the block and its copies' physical addresses.
func (n *normalizer) walk(root uint64, level uint8, seen map[uint64]bool, fn func(b []byte, phys []uint64) error) error {
	type todo struct {
		at    uint64
		level uint8
	}
	stack := []todo{{root, level}}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[t.at] {
			continue
		}
		seen[t.at] = true
		b, phys, err := n.readBlock(t.at, t.level)
		if err != nil {
			return err
		}
		if t.level > 0 {
			for i := int(u32(b, hdrNritems)) - 1; i >= 0; i-- {
				stack = append(stack, todo{u64(b, hdrSize+i*ptrSize+keySize), t.level - 1})
			}
		}
		if err := fn(b, phys); err != nil {
			return err
		}
	}
	return nil
}

func (n *normalizer) readAt(b []byte, phys uint64) error {
	if int64(phys)+int64(len(b)) > n.size {
		return fmt.Errorf("device offset %d is beyond the file system's %d bytes", phys, n.size)
	}
	_, err := n.dev.ReadAt(b, n.base+int64(phys))
	return err
}

func (n *normalizer) writeAt(b []byte, phys uint64) error {
	if int64(phys)+int64(len(b)) > n.size {
		return fmt.Errorf("device offset %d is beyond the file system's %d bytes", phys, n.size)
	}
	_, err := n.dev.WriteAt(b, n.base+int64(phys))
	return err
}
