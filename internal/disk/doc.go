// Package disk holds what cairn needs to lay a system onto a whole disk
// and to fit it to a disk that grew: finding what a device holds
// (Signatures), whether it is in use (InUse), loop devices over a part of
// an image or device (AttachLoop, for machines whose kernel does not
// scan partitions of loop devices and for writing a partition before the
// kernel knows it), and Grow, which cairn-init calls at boot: the store's
// GPT partition extended to the end of a disk that is larger than its
// table says, the kernel told (BLKPG), and the btrfs file system resized
// to fill it.
//
// The partition table itself is package gpt, the EFI system partition's
// file system package fat. Linux-only parts live in _linux.go files;
// elsewhere they return ErrNotSupported.
package disk
