// Package store keeps cairn's generations: sealed, read-only root file
// systems with their metadata, the state that says which one boots, and
// the rules that keep a crash at any instant harmless.
//
// A store lives in a directory (on a node, the btrfs top level, subvolid 5):
//
//	@cairn/store.json         format and backend; written last by Init
//	@cairn/lock               flock(2) lock: one writer at a time
//	@cairn/state.json         State: default, trial, last good, pinned, booted
//	@cairn/generations/<N>    generation N's root tree, read-only
//	@cairn/meta/<N>.json      Meta: what generation N is
//	@cairn/staging/<id>       builds in progress; garbage after a crash
//	@cairn/cache/             the package cache files are shared from
//
// Two backends keep the trees: on btrfs a staging tree is a subvolume and
// a generation that subvolume made read-only; elsewhere (ext4, xfs, tmpfs) a
// generation is a plain directory sealed with the immutable attribute, its
// unchanged files hard links into the cache. Both behave the same through
// Store, and one conformance suite (package storetest) tests both.
//
// Every change is one atomic rename of something fully
// written and synced, in an order that leaves, at every instant, a store
// whose sealed generations and default are intact; Fsck removes what an
// interrupted writer leaves. See docs/store.md for the orders and the
// crash points.
package store
