package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// tree is generation i: bootable (a kernel, a stand-in for cairn-init)
// unless noKernel.
func tree(i int, noKernel bool) storetest.Tree {
	t := storetest.Tree{
		"etc/hostname":                  fmt.Sprintf("gen%d\n", i),
		"etc/cairn/cmdline":             "console=ttyS0\n",
		"usr/lib/cairn/generation.json": `{"packages": []}`,
		"usr/lib/cairn/cairn-init":      "cairn-init stand-in\n",
	}
	if !noKernel {
		t["boot/vmlinuz-virt"] = "kernel image\n"
	}
	return t
}

var epoch = time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)

// newNode makes a plain store with a generation per entry of kernels
// (false: it has no kernel) and a boot directory written by BootSetup;
// it returns what a controller gives Open.
func newNode(t *testing.T, kernels ...bool) (node.StoreOptions, string) {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(dir) })
	s, err := store.Init(dir, store.InitOptions{Backend: store.BackendPlain})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range kernels {
		storetest.Build(t, s, tree(i+1, !k), store.Meta{Created: epoch.Add(time.Duration(i) * time.Hour), Kernel: "linux-virt 6.6"})
	}
	if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.SwitchPermanent(1) }); err != nil {
		t.Fatal(err)
	}
	unlock()
	var warnings []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("warnings: %q", warnings)
		}
	})
	o := node.StoreOptions{Dir: dir, NoWait: true, System: t.TempDir(), Warn: func(m string) { warnings = append(warnings, m) }}
	bootDir := filepath.Join(dir, "boot")
	if err := os.Mkdir(bootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ss := open(t, o)
	defer ss.Close()
	if _, err := ss.BootSetup(boot.Config{BootDir: bootDir, Loader: boot.Extlinux, Root: "LABEL=cairn"}); err != nil {
		t.Fatal(err)
	}
	return o, bootDir
}

func open(t *testing.T, o node.StoreOptions) *node.Session {
	t.Helper()
	ss, err := node.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func entries(t *testing.T, bootDir string) string {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(bootDir, "extlinux", "extlinux.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(conf)
}

// booted records, as cairn-init does, that the system rooted at
// o.System booted generation n, counting the trial down.
func booted(t *testing.T, o node.StoreOptions, n int) {
	t.Helper()
	st, _, err := layout.ReadState(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	next, got := st.Boot()
	if got != n {
		t.Fatalf("the state boots %d, not %d", got, n)
	}
	if err := layout.WriteState(o.Dir, next); err != nil {
		t.Fatal(err)
	}
	rec := layout.InTree(o.System, layout.BootedFile)
	if err := os.MkdirAll(filepath.Dir(rec), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, layout.FormatBooted(n), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestControllerLoop runs the day-2 loop as a remote controller would,
// through the node package alone: switch to a trial, boot it, confirm
// it, pin, collect garbage, each report saying what happened and the
// boot entries following the state.
func TestControllerLoop(t *testing.T) {
	o, bootDir := newNode(t, true, true, true)

	ss := open(t, o)
	sw, err := ss.Switch(node.SwitchRequest{Tries: 1})
	ss.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sw.Generation != 3 || sw.After.Trial != (store.Trial{Generation: 3, TriesLeft: 1}) || sw.After.NextBoot != 3 || sw.Before.NextBoot != 1 {
		t.Fatalf("switch: %+v", sw)
	}
	if conf := entries(t, bootDir); !strings.Contains(conf, "cairn.default=1") || !strings.Contains(conf, "cairn-3") {
		t.Errorf("entries after the switch:\n%s", conf)
	}

	booted(t, o, 3)
	n, err := node.Inspect(o)
	if err != nil {
		t.Fatal(err)
	}
	status, err := n.Status()
	if err != nil {
		t.Fatal(err)
	}
	if status.Booted != 3 || status.NextBoot != 1 || !strings.Contains(status.LastTrial, "booted on trial, not confirmed yet") {
		t.Errorf("status of a booted trial: %+v", status)
	}

	ss = open(t, o)
	confirmed, err := ss.Confirm(context.Background(), node.ConfirmRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !confirmed.Confirmed || confirmed.Generation != 3 || confirmed.State.Default != 3 || confirmed.State.LastGood != 3 {
		t.Errorf("confirm: %+v", confirmed)
	}
	if conf := entries(t, bootDir); !strings.Contains(conf, "cairn.default=3") {
		t.Errorf("entries after the confirmation:\n%s", conf)
	}
	pin, err := ss.Pin(1, true)
	if err != nil || !pin.Changed || !slices.Contains(pin.State.Pinned, 1) {
		t.Errorf("pin 1: %+v, %v", pin, err)
	}
	rules, err := store.ParseRules("1")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := ss.PlanGC(rules, epoch.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Drop, []int{2}) {
		t.Fatalf("gc plans to drop %v, want [2] (1 pinned, 3 the default)", plan.Drop)
	}
	dry, err := ss.DryRunGC(plan)
	if err != nil || !dry.DryRun || len(dry.Drop) != 1 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if _, err := ss.Store.Get(2); err != nil {
		t.Fatalf("a dry run deleted generation 2: %v", err)
	}
	gc, err := ss.ExecuteGC(plan)
	ss.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(gc.Drop) != 1 || gc.Drop[0].Number != 2 || len(gc.Keep) != 2 {
		t.Errorf("gc: %+v", gc)
	}
	if conf := entries(t, bootDir); strings.Contains(conf, "cairn-2") || !strings.Contains(conf, "cairn-1") {
		t.Errorf("entries after gc still name generation 2, or lost 1:\n%s", conf)
	}
}

// TestEntriesBeforeState: a change of what boots whose boot entries
// cannot be written changes nothing; confirming the booted generation
// is the exception, and only warns.
func TestEntriesBeforeState(t *testing.T) {
	o, bootDir := newNode(t, true, false)
	var warnings []string
	o.Warn = func(m string) { warnings = append(warnings, m) }
	before := entries(t, bootDir)

	ss := open(t, o)
	_, err := ss.Switch(node.SwitchRequest{Generation: 2, Tries: 1})
	var noKernel *boot.NoKernelError
	if !errors.As(err, &noKernel) {
		t.Fatalf("switch to a generation without a kernel: %v", err)
	}
	if st, _ := ss.Store.State(); st.NextBoot() != 1 || st.Trial.Generation != 0 {
		t.Errorf("the failed switch changed the state: %+v", st)
	}
	if entries(t, bootDir) != before {
		t.Error("the failed switch changed the entries")
	}
	// Generation 2 booted by hand as a trial (the state says so):
	// confirming it cannot write entries for it, and confirms anyway.
	if _, err := ss.Store.UpdateState(func(st store.State) (store.State, error) { return st.Switch(2, 1) }); err != nil {
		t.Fatal(err)
	}
	ss.Close()
	booted(t, o, 2)
	ss = open(t, o)
	defer ss.Close()
	rep, err := ss.Confirm(context.Background(), node.ConfirmRequest{})
	if err != nil || !rep.Confirmed || rep.State.Default != 2 {
		t.Fatalf("confirm: %+v, %v", rep, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "the entries stay as they are") {
		t.Errorf("warnings: %q", warnings)
	}
}

// TestOpenRepairsFirst: what an interrupted cairn left is repaired before
// an operation runs, and the session says what.
func TestOpenRepairsFirst(t *testing.T) {
	o, _ := newNode(t, true)
	leftover := layout.StorePath(o.Dir, layout.StagingDir, "interrupted")
	if err := os.MkdirAll(leftover, 0o755); err != nil {
		t.Fatal(err)
	}
	ss := open(t, o)
	defer ss.Close()
	leftovers, other := node.GCLeftovers(ss.Checked)
	if len(leftovers) != 1 || !leftovers[0].Repaired || len(other) != 0 {
		t.Errorf("check on opening: %+v", ss.Checked)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale staging tree is still there: %v", err)
	}
	// One writer at a time.
	if _, err := node.Open(context.Background(), o); !errors.Is(err, store.ErrLocked) {
		t.Errorf("a second session: %v, want store.ErrLocked", err)
	}
}
