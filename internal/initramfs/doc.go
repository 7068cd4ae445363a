// Package initramfs builds the initial RAM file system a cairn generation
// boots with: a reproducible cpio archive ("newc", the kernel's format)
// holding cairn-init as /init and the kernel modules the root device
// needs, chosen with their dependencies from the kernel's module
// directory, compressed with gzip or zstd.
//
// cairn-init itself is in the cairninit package below; kmod reads the
// module indexes both share.
package initramfs
