// Package boot makes a store's generations bootable: it copies each
// generation's kernel and initramfs into the boot directory (the ESP or
// /boot), once per content, and writes the loader's entries: one that
// boots whatever cairn-init picks (the trial while it has tries, else the
// default) and one per generation that names it (cairn.gen=N). extlinux
// (syslinux), GRUB and systemd-boot are supported.
//
// Sync is the one entry point that writes. It copies what is new first,
// then replaces the loader's configuration with one atomic rename, then
// removes kernels and initramfs images no entry names: a crash at any
// point leaves a configuration whose every file exists.
package boot
