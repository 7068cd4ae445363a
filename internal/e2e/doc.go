// Package e2e holds cairn's end-to-end tests: the real cairn and
// cairn-init binaries, built static, drive a real disk image (partitions,
// btrfs, a boot loader) that qemu boots. It has no code of its own.
package e2e
