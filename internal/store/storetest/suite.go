// Package storetest is the conformance suite every store backend passes,
// as restic's backend/test.Suite is for restic's backends, plus helpers
// for tests that need a store with generations in it.
package storetest

import (
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

// Backend says how to make stores of one backend.
type Backend struct {
	// Name is the backend store.Store.Backend reports.
	Name string
	// Dir returns a new empty directory to make a store in, on the file
	// system the backend needs. It is called once per test.
	Dir func(t *testing.T) string
	// Options are passed to store.Init; Options.Backend is set to Name.
	Options store.InitOptions
	// Unseal makes the sealed generation at path writable again, as a
	// hand could (the damage Fsck must notice and undo).
	Unseal func(t *testing.T, path string)
}

// Run runs the conformance suite against b, one subtest per behaviour.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"InitAndOpen", testInitAndOpen},
		{"ChangesNeedTheLock", testChangesNeedTheLock},
		{"SealMakesAReadOnlyGeneration", testSeal},
		{"SealOrder", testSealOrder},
		{"NumbersAreNeverReused", testNumbers},
		{"MetaRoundTrip", testMetaRoundTrip},
		{"StateRoundTrip", testStateRoundTrip},
		{"StateKeepsUnknownKeys", testStateUnknownKeys},
		{"StateRefusesMissingGenerations", testStateRefusesMissing},
		{"DeleteRefusesProtected", testDeleteProtected},
		{"Delete", testDelete},
		{"AddFileSharesData", testAddFile},
		{"Usage", testUsage},
		{"Abort", testAbort},
		{"CrashAtEveryPoint", testCrashPoints},
		{"FsckRepairsDamage", testFsckDamage},
		{"FsckReportsUnknownEntries", testFsckUnknown},
		{"FsckRebuildsStateAroundTheBootedGeneration", testFsckBooted},
		{"GC", testGC},
		{"Remove", testRemove},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, b) })
	}
}
