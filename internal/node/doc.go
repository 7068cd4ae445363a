// Package node owns a node's operations: the rules that keep a machine
// with a cairn store bootable whoever runs them, the cairn command line or
// a remote controller.
//
// Open takes the store's writer lock and repairs what an interrupted
// cairn left; the Session it returns builds (Build), switches (Switch,
// Rollback), pins (Pin), confirms (Confirm, with the health checks),
// collects garbage (PlanGC, then ExecuteGC) and writes the boot entries
// (BootSetup, BootSync). Inspect opens a store for reading only (Status,
// Generations, Manifest). Each operation returns a report, a plain value
// with JSON tags, that its caller renders; nothing here prints.
//
// The rules kept here, in one place:
//
//   - one writer at a time: every change runs in a Session, which holds
//     the store's lock and has repaired the store first;
//   - boot entries before the state: a change of what boots writes the
//     boot directory for the state to be first, then the state (one
//     atomic rename); a failure to write the entries changes nothing.
//     The one exception is confirming the booted generation, whose
//     kernel the entries already name: there the entries may lag, with
//     a warning;
//   - gc removes the boot entries of what it deletes before deleting it;
//   - a store booting mkinitfs images has no trials (nothing counts their
//     tries down);
//   - the generation this machine runs is cairn-init's record
//     (layout.BootedFile), else the state's;
//   - cairn.lock beside a manifest is read and written here only
//     (Recipe).
//
// Messages name the cairn command line's commands and flags where they
// say what to do next: the command line is how an operator acts on a
// node.
package node
