// Package layers writes down which of cairn's packages may import which
// (docs/architecture.md, "Layers"); its test holds the real imports, from
// go list, against it. It has no code the binaries use.
//
// The layers run from the commands at the top to the on-disk contracts at
// the bottom. A package may import any package of a layer below its own;
// inside its layer only what Within lists. Test helpers (a package named
// *test, internal/testutil, internal/e2e/...) may import anything and be
// imported only by tests and other helpers; so may a benchmark's program.
package layers

import (
	"fmt"
	"sort"
	"strings"
)

// Module is cairn's module path.
const Module = "github.com/cairnlinux/cairn"

// Layer is a named set of packages, by import path below Module.
type Layer struct {
	Name     string
	Packages []string
}

// Layers are cairn's layers, top first.
var Layers = []Layer{
	{"commands", []string{"cmd/cairn", "cmd/cairn-init", "internal/manifest/schemagen"}},
	{"command line", []string{"internal/cli"}},
	{"rollouts", []string{"internal/rollout"}},
	{"a fleet's nodes", []string{"internal/fleet"}},
	{"delivery", []string{"internal/deliver"}},
	{"operations on a node", []string{"internal/node", "internal/diskinstall"}},
	{"pipelines", []string{"internal/build", "internal/image", "internal/health", "internal/gendiff", "internal/vm", "internal/snapshots", "internal/capture", "internal/liveroot"}},
	{"tenants", []string{"internal/tenant"}},
	{"boot entries and store", []string{"internal/boot", "internal/ramboot", "internal/store"}},
	{"a system's description", []string{"internal/compose", "internal/container", "internal/openrc", "internal/secrets", "internal/manifest"}},
	{"apk engine", []string{"internal/apk/engine"}},
	{"apk commit", []string{"internal/apk/commit"}},
	{"apk database and installer", []string{"internal/apk/database", "internal/apk/install"}},
	{"apk repositories and solver", []string{"internal/apk/repo", "internal/apk/solver"}},
	{"apk file formats", []string{"internal/apk/apkfile"}},
	{"apk's vocabulary", []string{"internal/apk"}},
	{"cairn-init", []string{"internal/initramfs/cairninit"}},
	{"system", []string{"internal/state", "internal/initramfs", "internal/sandbox", "internal/nosync", "internal/disk/btrfsnorm"}},
	{"system base", []string{"internal/kexec", "internal/disk", "internal/disk/gpt", "internal/disk/fat", "internal/btrfs", "internal/initramfs/kmod", "internal/reexec"}},
	{"on-disk contracts and leaf helpers", []string{"internal/layout", "internal/unixmode", "internal/layers", "internal/fleetlock", "internal/remote"}},
	{"rooted filesystem", []string{"internal/rootfs"}},
}

// Within are the imports allowed inside a layer: importer to imported.
var Within = map[string][]string{
	"internal/boot":      {"internal/store"},
	"internal/compose":   {"internal/manifest", "internal/secrets"},
	"internal/container": {"internal/manifest", "internal/openrc"},
	"internal/openrc":    {"internal/manifest"},
	"internal/secrets":   {"internal/manifest"},
	"internal/disk":      {"internal/disk/gpt"},
}

// IsTestHelper reports whether the package p (below Module) is a test
// helper, or a benchmark's program (internal/image/imagebench).
func IsTestHelper(p string) bool {
	base := p[strings.LastIndex(p, "/")+1:]
	return strings.HasSuffix(base, "test") || strings.HasSuffix(base, "bench") ||
		p == "internal/testutil" || p == "internal/e2e" || strings.HasPrefix(p, "internal/e2e/")
}

// Check returns, sorted, every import of graph (package to the packages
// it imports, both below Module) that breaks the layers, and every
// package no layer names.
func Check(graph map[string][]string) []string {
	rank := map[string]int{}
	for i, l := range Layers {
		for _, p := range l.Packages {
			rank[p] = i
		}
	}
	var out []string
	for from, imports := range graph {
		if IsTestHelper(from) {
			continue
		}
		rf, ok := rank[from]
		if !ok {
			out = append(out, fmt.Sprintf("%s is in no layer: add it to one in internal/layers (docs/architecture.md says which)", from))
			continue
		}
		for _, to := range imports {
			if IsTestHelper(to) {
				out = append(out, fmt.Sprintf("%s imports the test helper %s", from, to))
				continue
			}
			rt, ok := rank[to]
			switch {
			case !ok:
				// Reported as a package of no layer when it is one of graph's.
			case rt < rf:
				out = append(out, fmt.Sprintf("%s (%s) imports %s, a layer above it (%s)", from, Layers[rf].Name, to, Layers[rt].Name))
			case rt == rf && !contains(Within[from], to):
				out = append(out, fmt.Sprintf("%s imports %s of its own layer (%s), which internal/layers does not allow", from, to, Layers[rf].Name))
			}
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
