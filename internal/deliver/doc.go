// Package deliver moves a sealed generation from one store to another:
// the sender describes the generation's tree in a listing whose SHA-256
// is the tree digest, signs a header naming that digest, and sends only
// what the receiver lacks; the receiver checks the signature against the
// keys it trusts and the listing against the digest before it writes
// anything, builds the tree in a staging tree, checks that the tree it
// built has the same digest, and only then seals it.
//
// Two ways to carry the data, chosen by the receiver:
//
//   - files: the content of every regular file the receiver has in none
//     of its generations (matched by SHA-256), in listing order; the rest
//     is copied (reflinked on btrfs) from the receiver's own generations.
//     It works between any two stores.
//   - btrfs: an incremental btrfs send stream against a generation both
//     stores hold (the receiver's copy carries the sender's subvolume as
//     its received UUID), applied with btrfs-progs' `btrfs receive`.
//
// The protocol runs over any byte stream (cairn push: ssh to the node's
// `cairn receive`) and over HTTP (cairn serve, cairn pull). Every
// delivery counts the bytes that crossed the wire.
package deliver
