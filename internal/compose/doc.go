// Package compose writes what a manifest declares into a root filesystem
// that cairn's apk engine has already populated: accounts (Accounts), host
// settings (System), files (Files) and the record of the generation
// (WriteGeneration). Each function takes the root directory it works in.
//
// The build calls them in this order: Accounts, System, Files,
// WriteGeneration. Files comes after Accounts so that inline files can be
// owned by declared users.
//
// # Reproducible and idempotent
//
// Every file, directory and symlink compose creates or changes, and every
// directory whose entries it changes, gets the modification time mtime
// (the build's SOURCE_DATE_EPOCH); nothing else of the build host leaks
// in. Output is deterministic: declared lists keep their order, maps are
// written sorted. Running a function twice leaves the tree byte for byte
// as after the first run: merged files recognise what they wrote before.
//
// # Confined to the root
//
// Paths are resolved with openat2(RESOLVE_IN_ROOT), the semantics of a
// chroot: a symlink "etc -> /tmp/outside" in the root leads to
// ROOT/tmp/outside, ".." stops at the root, and a manifest path containing
// ".." is refused outright. A symlink in the last component is replaced,
// never followed. Files are replaced atomically: written to a temporary
// file beside the target, synced, renamed over it. Owners are resolved
// through the root's /etc/passwd and /etc/group, never the host's.
// This needs Linux 5.6 or newer; on other systems every function fails.
//
// # Accounts
//
// Existing entries (alpine-baselayout-data's, and the system users that
// package scripts added) keep their place and their bytes. A declared
// account or group that exists is updated in place: only the fields the
// manifest sets change (an existing user keeps its primary group, home,
// shell and comment unless they are declared); new ones are appended in
// the declared order. An id already held by another account is an error
// naming both ("users[2] (alice): uid 1000 is already used by bob").
// Changing an existing group's gid moves the accounts whose primary group
// it is; file ownership in the tree is not changed.
//
// Ids are allocated as busybox adduser and addgroup do on Alpine: users
// from 1000, system users and groups from 100 to 999, the lowest free id.
// A user without a declared group gets a group of its own name (or the
// existing group of that name) whose gid equals the uid, both searched
// together. The order is fixed: explicit ids first, then users without one
// in order, then declared groups without one, so declaring a group never
// shifts a uid. Declare uids of users whose files live on persistent
// storage: an allocated uid moves when a user is declared before it.
//
// Defaults: home /home/NAME and shell /bin/sh; for system users /var/empty
// and /sbin/nologin, and no home is created unless one is declared. Home
// directories that are missing are created 0755 owned by the user; an
// existing one (root's 0700 /root) is left as it is. SSH keys go to
// ~/.ssh/authorized_keys, 0600 in a 0700 ~/.ssh, owned by the user.
// Supplementary groups and declared members are appended to the groups'
// member lists (and to /etc/gshadow when the root has one).
//
// /etc/shadow entries look like busybox adduser's: "NAME:HASH:DAYS:0:
// 99999:7:::" with DAYS the day of mtime. Without a passwordHash the
// password is "!" (locked), except for users with SSH keys, who get "*":
// no password matches either, but Alpine's OpenSSH, built without PAM,
// refuses every login, keys included, to an account whose hash starts
// with "!". This holds for existing accounts too: declaring root without a
// hash replaces Alpine's empty root password. Modes follow
// alpine-baselayout-data 3.19: passwd and group 0644 root:root, shadow
// (and gshadow) 0640 root:shadow.
//
// # System settings
//
// /etc/hostname holds the host name; the 127.0.0.1 line of /etc/hosts
// gets it (a full name, then its first label) in front of localhost, and
// declared hosts entries are appended, replacing the root's line for the
// same address. The time zone is set as Alpine's setup-timezone does with
// tzdata: /usr/share/zoneinfo/ZONE is copied to /etc/zoneinfo/ZONE and
// /etc/localtime links to zoneinfo/ZONE; without tzdata in the root that
// is an error naming the package; UTC needs nothing. Network interfaces are
// written verbatim or rendered in setup-interfaces' ifupdown-ng syntax
// with the loopback first; iwd's main.conf is rendered sorted. /etc/fstab
// keeps the root's lines and appends the declared entries, tab-separated,
// replacing a line for the same mount point (swap: the same device).
// Sysctl settings go to /etc/sysctl.d/00-cairn.conf (sorted), modules to
// /etc/modules-load.d/cairn.conf (in order), and the kernel command line
// is always recorded, one line, in /etc/cairn/cmdline.
//
// # Files
//
// See Files: the skeleton is copied with its modes and symlinks but owned
// by root, devices, sockets and FIFOs are refused, and inline files carry
// their own mode and owner.
package compose
