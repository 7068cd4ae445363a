// Package layout owns cairn's on-disk contracts: every path, record and
// rule that one part of cairn writes and another reads. The build writes
// a generation's records (/usr/lib/cairn/generation.json, /etc/cairn/…)
// that the store, the boot entries, images, cairn diff and cairn confirm
// read; the store writes @cairn/state.json, which cairn-init reads and
// counts down at boot; cairn-init leaves /run/cairn/… for the running
// system's cairn. Each of those is named, encoded and checked here, once,
// so the two sides of a contract cannot drift apart.
//
// What lives here: the paths (store.go: the store's names below its top
// directory; tree.go: files inside a generation; run.go: what cairn-init
// leaves in /run), the records (State and its transitions, Generation,
// Health, the persist list, the kernel command line and its parameters)
// and the rules both sides apply (which directories may persist, how a
// trial counts down, what a generation number looks like).
//
// It imports only the standard library: cairn-init links it, and must
// stay small and static.
package layout
