// Package rootfs is a directory tree worked on as if chrooted into it: the
// root a package installer, compose or openrc writes a system into.
//
// Every path is resolved inside the root with chroot semantics: ".." stops
// at the root and an absolute symlink "etc -> /tmp" leads to ROOT/tmp, never
// out of it. On Linux that is openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
// (see root_linux.go); changes are then made with *at calls on single path
// components of an open directory that never follow a symlink in the last
// one. Memory is the same contract in memory, so that code written against
// Root is unit-tested without root privileges and without Linux.
//
// The package also holds the project's one atomic file write (WriteFile
// on a Dir, WriteFileAt on a host path: a temporary file, synced, renamed
// over the name) and its one directory sync (SyncDir).
package rootfs
