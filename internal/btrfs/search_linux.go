package btrfs

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// searchKey is struct btrfs_ioctl_search_key (104 bytes). Items come back
// when their key (objectid, type, offset) lies between the min and max
// keys, compared as tuples.
type searchKey struct {
	TreeID      uint64
	MinObjectID uint64
	MaxObjectID uint64
	MinOffset   uint64
	MaxOffset   uint64
	MinTransid  uint64
	MaxTransid  uint64
	MinType     uint32
	MaxType     uint32
	NrItems     uint32
	_           uint32
	_           [4]uint64
}

// searchArgs is struct btrfs_ioctl_search_args (4096 bytes).
type searchArgs struct {
	Key searchKey
	Buf [4096 - 104]byte
}

// searchHeader is struct btrfs_ioctl_search_header (32 bytes), in the
// result buffer before each item.
type searchHeader struct {
	Transid  uint64
	ObjectID uint64
	Offset   uint64
	Type     uint32
	Len      uint32
}

const searchHeaderSize = 32

// treeSearch calls fn for every item of tree in [min, max] (keys as
// objectid, type, offset), in key order, until fn returns false
// (BTRFS_IOC_TREE_SEARCH; needs CAP_SYS_ADMIN). fd is any descriptor on
// the file system.
func treeSearch(fd int, tree uint64, min, max [3]uint64, fn func(h searchHeader, item []byte) bool) error {
	var args searchArgs
	args.Key = searchKey{
		TreeID:      tree,
		MinObjectID: min[0], MinType: uint32(min[1]), MinOffset: min[2],
		MaxObjectID: max[0], MaxType: uint32(max[1]), MaxOffset: max[2],
		MaxTransid: math.MaxUint64,
	}
	for {
		args.Key.NrItems = 4096
		if err := ioctl(fd, iocTreeSearch, unsafe.Pointer(&args)); err != nil {
			return fmt.Errorf("tree search (tree %d): %w", tree, err)
		}
		n := args.Key.NrItems
		if n == 0 {
			return nil
		}
		buf := args.Buf[:]
		var last searchHeader
		for i := uint32(0); i < n; i++ {
			if len(buf) < searchHeaderSize {
				return fmt.Errorf("tree search (tree %d): result truncated", tree)
			}
			last = searchHeader{
				Transid:  binary.NativeEndian.Uint64(buf[0:]),
				ObjectID: binary.NativeEndian.Uint64(buf[8:]),
				Offset:   binary.NativeEndian.Uint64(buf[16:]),
				Type:     binary.NativeEndian.Uint32(buf[24:]),
				Len:      binary.NativeEndian.Uint32(buf[28:]),
			}
			buf = buf[searchHeaderSize:]
			if uint32(len(buf)) < last.Len {
				return fmt.Errorf("tree search (tree %d): item truncated", tree)
			}
			if !fn(last, buf[:last.Len]) {
				return nil
			}
			buf = buf[last.Len:]
		}
		// Continue after the last key returned.
		k := [3]uint64{last.ObjectID, uint64(last.Type), last.Offset}
		if !nextKey(&k) || compareKeys(k, max) > 0 {
			return nil
		}
		args.Key.MinObjectID, args.Key.MinType, args.Key.MinOffset = k[0], uint32(k[1]), k[2]
	}
}

// nextKey advances k to the smallest key after it; false when k is the
// largest key.
func nextKey(k *[3]uint64) bool {
	switch {
	case k[2] < math.MaxUint64:
		k[2]++
	case k[1] < math.MaxUint8:
		k[1]++
		k[2] = 0
	case k[0] < math.MaxUint64:
		k[0]++
		k[1], k[2] = 0, 0
	default:
		return false
	}
	return true
}

func compareKeys(a, b [3]uint64) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}
