// Package btrfsnorm makes a btrfs file system that the kernel wrote
// byte-reproducible, working on the unmounted file system in place
// (through an io.ReaderAt and io.WriterAt, without the kernel, in pure
// Go). Two builds of the same content by the same writer differ in what
// mkfs.btrfs and the kernel draw at random or take from the clock; a
// Normalize pass over each makes them equal:
//
//   - identifiers: the chunk tree UUID (every tree block's header, every
//     device extent), the device UUID (the device item, every chunk's
//     stripes, the superblocks) and every subvolume's UUID (root items,
//     the parent UUID of snapshots, the UUID tree's keys) are derived
//     from Options.Seed and what they name, as package gpt derives a
//     disk's GUIDs;
//   - times: every time stamp of an inode (change, modification,
//     creation) and of a subvolume that is later than Options.Epoch, or
//     taken while the image was built (from Options.Since), becomes the
//     epoch; older ones are kept (a generation's packaged files keep
//     their times). An inode's access time becomes its modification
//     time: which files the build read is none of the image's business.
//     Inodes' NFS change counters (sequence), which count clock ticks as
//     much as changes, become 0;
//   - free space: every block that no tree references — old copies of
//     tree blocks, the backup roots that pointed at them, what mkfs.btrfs
//     left in the chunks it dropped — is zeroed, so nothing of the build
//     survives where the file system does not look.
//
// Every rewritten tree block gets its checksum again (crc32c, the only
// checksum supported), every copy of it is written (dup metadata), and
// so are the superblock's mirrors. What the kernel decides — where
// blocks lie, transaction numbers — is left alone: for the result to be
// identical, the writer has to make the kernel decide the same way each
// time (see package image's disk writer).
//
// Only what a single-device file system made by mkfs.btrfs holds is
// supported: single and dup profiles, skinny metadata, crc32c, a UUID
// tree of one leaf; anything else (zoned, extent tree v2, RAID, a log
// tree left by a crash) is refused before anything is written.
//
// The on-disk format followed is the kernel's (include/uapi/linux/
// btrfs_tree.h); offsets are spelled out in format.go.
package btrfsnorm
