package node_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/container"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// TestGCRemovesImages: on the running node, the images of containers go
// from podman's storage with the last generation that uses them, and
// only then; a dry run removes none; images cairn did not load stay.
func TestGCRemovesImages(t *testing.T) {
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
	// Generation 1 runs image old, 2 and 3 image web.
	for i, id := range []string{"old", "web", "web"} {
		rec, _ := json.Marshal(container.Record{Images: []*container.Image{{ID: id}}})
		tr := tree(i+1, false)
		tr[strings.TrimPrefix(container.RecordPath, "/")] = string(rec)
		storetest.Build(t, s, tr, store.Meta{Created: epoch.Add(time.Duration(i) * time.Hour)})
	}
	if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.SwitchPermanent(3) }); err != nil {
		t.Fatal(err)
	}
	unlock()

	// The running system: booted 3 from this store, with a podman that
	// records its calls, and the services' record of what they loaded
	// (and an image someone else loaded, which is not in it).
	sys := t.TempDir()
	for path, data := range map[string]string{
		layout.BootedFile:      string(layout.FormatBooted(3)),
		container.LoadedRecord: "old\nweb\n",
		container.Podman:       "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/calls\"\n",
	} {
		p := layout.InTree(sys, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(dir, layout.InTree(sys, layout.RunStore)); err != nil {
		t.Fatal(err)
	}
	calls := func() []string {
		data, _ := os.ReadFile(filepath.Join(filepath.Dir(layout.InTree(sys, container.Podman)), "calls"))
		return strings.Fields(strings.ReplaceAll(string(data), " ", "_"))
	}
	o := node.StoreOptions{Dir: dir, NoWait: true, System: sys}
	gc := func(rules string, dry bool) *node.GCReport {
		t.Helper()
		r, err := store.ParseRules(rules)
		if err != nil {
			t.Fatal(err)
		}
		ss := open(t, o)
		defer ss.Close()
		plan, err := ss.PlanGC(r, epoch.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		run := ss.ExecuteGC
		if dry {
			run = ss.DryRunGC
		}
		report, err := run(plan)
		if err != nil {
			t.Fatal(err)
		}
		return report
	}
	images := func(r *node.GCReport) (out []string) {
		for _, p := range r.Removed {
			if strings.HasPrefix(p.Path, "podman image ") {
				out = append(out, p.Path)
			}
		}
		return out
	}

	if r := gc("1", true); len(r.Drop) != 2 || len(images(r)) != 0 || len(calls()) != 0 {
		t.Fatalf("dry run: dropped %v, images %v, podman %v", r.Drop, images(r), calls())
	}
	// Keeping 2: generation 1 goes, and image old with it.
	if r := gc("2", false); len(r.Drop) != 1 || !slices.Equal(images(r), []string{"podman image old"}) {
		t.Errorf("gc 2: dropped %v, removed %v", r.Drop, images(r))
	}
	if got := calls(); !slices.Equal(got, []string{"rmi_--ignore_old"}) {
		t.Errorf("podman calls: %q", got)
	}
	// Keeping 1: generation 2 goes, but web is 3's too.
	if r := gc("1", false); len(r.Drop) != 1 || len(images(r)) != 0 {
		t.Errorf("gc 1: dropped %v, removed %v", r.Drop, images(r))
	}
	if rec, _ := os.ReadFile(layout.InTree(sys, container.LoadedRecord)); string(rec) != "web\n" || len(calls()) != 1 {
		t.Errorf("record %q, podman calls %q", rec, calls())
	}
}
