package btrfs

import (
	"testing"
	"unsafe"
)

// The structs must match the kernel's uapi byte for byte (sizes and
// offsets from <linux/btrfs.h>, checked with a C compiler).
func TestStructLayouts(t *testing.T) {
	var subvolInfo getSubvolInfoArgs
	var v2 volArgsV2
	var fm fiemap
	var fi fsInfoArgs
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"vol_args", unsafe.Sizeof(volArgs{}), 4096},
		{"vol_args_v2", unsafe.Sizeof(v2), 4096},
		{"vol_args_v2.flags", unsafe.Offsetof(v2.Flags), 16},
		{"vol_args_v2.name", unsafe.Offsetof(v2.Name), 56},
		{"ino_lookup_args", unsafe.Sizeof(inoLookupArgs{}), 4096},
		{"get_subvol_info_args", unsafe.Sizeof(subvolInfo), 504},
		{"get_subvol_info_args.parent_id", unsafe.Offsetof(subvolInfo.ParentID), 264},
		{"get_subvol_info_args.flags", unsafe.Offsetof(subvolInfo.Flags), 288},
		{"get_subvol_info_args.uuid", unsafe.Offsetof(subvolInfo.UUID), 296},
		{"get_subvol_info_args.ctransid", unsafe.Offsetof(subvolInfo.Ctransid), 344},
		{"get_subvol_info_args.ctime", unsafe.Offsetof(subvolInfo.Ctime), 376},
		{"get_subvol_info_args.otime", unsafe.Offsetof(subvolInfo.Otime), 392},
		{"get_subvol_info_args.reserved", unsafe.Offsetof(subvolInfo.Reserved), 440},
		{"timespec", unsafe.Sizeof(timespec{}), 16},
		{"search_key", unsafe.Sizeof(searchKey{}), 104},
		{"search_args", unsafe.Sizeof(searchArgs{}), 4096},
		{"search_header", unsafe.Sizeof(searchHeader{}), searchHeaderSize},
		{"quota_ctl_args", unsafe.Sizeof(quotaCtlArgs{}), 16},
		{"qgroup_create_args", unsafe.Sizeof(qgroupCreateArgs{}), 16},
		{"qgroup_limit_args", unsafe.Sizeof(qgroupLimitArgs{}), 48},
		{"fiemap", unsafe.Offsetof(fm.Extents), 32},
		{"fiemap_extent", unsafe.Sizeof(fiemapExtent{}), 56},
		{"fs_info_args", unsafe.Sizeof(fi), 1024},
		{"fs_info_args.nodesize", unsafe.Offsetof(fi.NodeSize), 32},
		{"fs_info_args.generation", unsafe.Offsetof(fi.Generation), 56},
		{"fs_info_args.metadata_uuid", unsafe.Offsetof(fi.MetadataUUID), 64},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d bytes, kernel has %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestNextKey(t *testing.T) {
	max := ^uint64(0)
	tests := []struct {
		in, want [3]uint64
		ok       bool
	}{
		{[3]uint64{5, 84, 7}, [3]uint64{5, 84, 8}, true},
		{[3]uint64{5, 84, max}, [3]uint64{5, 85, 0}, true},
		{[3]uint64{5, 255, max}, [3]uint64{6, 0, 0}, true},
		{[3]uint64{max, 255, max}, [3]uint64{max, 255, max}, false},
	}
	for _, tt := range tests {
		k := tt.in
		if ok := nextKey(&k); ok != tt.ok || k != tt.want {
			t.Errorf("nextKey(%v) = %v, %t; want %v, %t", tt.in, k, ok, tt.want, tt.ok)
		}
	}
}
