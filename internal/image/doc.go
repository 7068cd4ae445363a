// Package image turns a generation's root tree into files that other
// tools take: a root file system tarball (Tar) and an OCI image (OCI).
// The initramfs and disk formats belong here too and implement the same
// Format interface.
//
// Every format reads the tree through Walk, which makes the output a
// function of the tree and the epoch alone:
//
//   - entries come in path order, bytewise, one directory's entries
//     together (as `tar --sort=name`), the root first as "./";
//   - owners are numbers (uid, gid), never names;
//   - modes keep the permission bits and setuid, setgid and sticky;
//   - times are whole seconds, clamped to the epoch (the lock's
//     SOURCE_DATE_EPOCH): a file older than the epoch keeps its time, a
//     newer one gets the epoch; access and change times are not stored;
//   - a file with several names in the tree is stored once, under its
//     first name, and its later names are hard links to that one;
//   - extended attributes in the user, trusted and security namespaces
//     are kept, except security.selinux (a label of the build host);
//     POSIX ACLs (system.*) and sockets are dropped.
//
// Compression is deterministic whatever the number of cores: gzip cuts
// its input into 1 MiB blocks compressed in parallel, zstd into jobs of
// a size fixed by its window; see Compression. docs/images.md has the
// whole design.
package image
