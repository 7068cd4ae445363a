package state_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/state"
)

// write makes files (path -> content) under root.
func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// generation makes a generation's tree with declared files (path ->
// content, state) and returns its root.
func generation(t *testing.T, decl map[string][2]string) string {
	t.Helper()
	root := t.TempDir()
	var entries []state.Entry
	files := map[string]string{}
	for p, cs := range decl {
		files[p] = cs[0]
		entries = append(entries, state.Entry{Path: p, State: cs[1], From: "files.inline"})
	}
	write(t, root, files)
	write(t, root, map[string]string{layout.PersistList: "/var\n/srv\n"})
	if err := state.WriteDeclared(root, entries, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	return root
}

// boot is what cairn-init does with generation gen on the node whose
// persistent directories are in node: the generation's tree, with the
// node's /var and /srv over it, then Apply.
func boot(t *testing.T, gen, node string, now time.Time) []state.Change {
	t.Helper()
	// The generation's /usr (its declared copies) under the node's
	// persistent directories: a symlink stands for the mounts.
	usr := filepath.Join(node, "usr")
	os.Remove(usr)
	if err := os.Symlink(filepath.Join(gen, "usr"), usr); err != nil {
		t.Fatal(err)
	}
	ch, err := state.Apply(node, now)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestApplyAcrossGenerations(t *testing.T) {
	const conf, seed, psk = "/var/lib/app/app.conf", "/var/lib/app/seed.conf", "/var/lib/iwd/home.psk"
	g1 := generation(t, map[string][2]string{conf: {"one\n", state.Managed}, seed: {"seed one\n", state.Seed}})
	g2 := generation(t, map[string][2]string{conf: {"two\n", state.Managed}, seed: {"seed two\n", state.Seed}, psk: {"secret\n", state.Managed}})
	node := t.TempDir()
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

	// First boot: the node had the seeded /var with app.conf already
	// (cairn-init seeds a new persistent directory from the generation).
	write(t, node, map[string]string{conf: "one\n"})
	ch := boot(t, g1, node, t0)
	if got := changes(ch); got != "seeded /var/lib/app/seed.conf" {
		t.Errorf("first boot: %s", got)
	}
	// A hand edit of both.
	write(t, node, map[string]string{conf: "by hand\n", seed: "seed by hand\n"})

	// Generation 2: its app.conf replaces the hand edit, which is kept;
	// the seed stays the node's; home.psk is new.
	ch = boot(t, g2, node, t0.Add(time.Hour))
	if got := changes(ch); got != "placed /var/lib/app/app.conf (the one it replaced kept as var/lib/app/app.conf@20261206T090000Z); placed /var/lib/iwd/home.psk" {
		t.Errorf("generation 2: %s", got)
	}
	if got := read(t, filepath.Join(node, conf)) + read(t, filepath.Join(node, seed)) + read(t, filepath.Join(node, psk)); got != "two\nseed by hand\nsecret\n" {
		t.Errorf("generation 2's files: %q", got)
	}
	if got := read(t, filepath.Join(node, state.ReplacedDir, "var/lib/app/app.conf@20261206T090000Z")); got != "by hand\n" {
		t.Errorf("kept: %q", got)
	}
	// Booting it again changes nothing.
	if ch := boot(t, g2, node, t0.Add(2*time.Hour)); len(ch) != 0 {
		t.Errorf("generation 2 again: %s", changes(ch))
	}

	// Rollback to generation 1: its app.conf is back (generation 2's is
	// not kept: booting 2 gives it back), home.psk, which 1 does not
	// declare, is gone as it was before 2.
	ch = boot(t, g1, node, t0.Add(3*time.Hour))
	if got := changes(ch); got != "placed /var/lib/app/app.conf; removed /var/lib/iwd/home.psk" {
		t.Errorf("rollback: %s", got)
	}
	if got := read(t, filepath.Join(node, conf)) + read(t, filepath.Join(node, psk)); got != "one\n<absent>" {
		t.Errorf("after the rollback: %q", got)
	}
}

func TestApplyNoLongerManagedRestoresOriginal(t *testing.T) {
	const p = "/srv/app.conf"
	node := t.TempDir()
	write(t, node, map[string]string{p: "the node's own\n"})
	g1 := generation(t, map[string][2]string{p: {"declared\n", state.Managed}})
	g2 := generation(t, nil)
	boot(t, g1, node, time.Unix(100, 0))
	if got := read(t, filepath.Join(node, p)); got != "declared\n" {
		t.Fatalf("managed: %q", got)
	}
	if got := changes(boot(t, g2, node, time.Unix(200, 0))); got != "restored /srv/app.conf" {
		t.Errorf("no longer declared: %s", got)
	}
	if got := read(t, filepath.Join(node, p)); got != "the node's own\n" {
		t.Errorf("restored: %q", got)
	}
}

func changes(ch []state.Change) string {
	var s []string
	for _, c := range ch {
		s = append(s, c.String())
	}
	return strings.Join(s, "; ")
}

func TestDrift(t *testing.T) {
	gen := generation(t, map[string][2]string{"/var/lib/app/app.conf": {"one\n", state.Managed}, "/var/lib/app/seed": {"s\n", state.Seed}})
	write(t, gen, map[string]string{"/var/lib/pkg/db": "package data\n", "/var/lib/pkg/gone": "x\n", "/etc/runlevels/default/sshd": ""})
	live := t.TempDir()
	write(t, live, map[string]string{
		"/var/lib/app/app.conf": "one\n",
		"/var/lib/app/seed":     "mine\n",
		"/var/lib/pkg/db":       "package data, edited\n",
		"/var/log/messages":     "log\n",
		"/var/lib/cairn/x":      "cairn's own\n",
		"/srv/data":             "data\n",
	})
	openrc := t.TempDir()
	write(t, openrc, map[string]string{
		"started/sshd": "", "started/net": "", "started/localmount": "", "started/local": "", "started/networking": "",
		"deptree": "depinfo_0_service='sshd'\ndepinfo_0_ineed_0='net'\ndepinfo_0_ineed_1='localmount'\ndepinfo_1_service='networking'\ndepinfo_1_iprovide_0='net'\n",
	})
	r, err := state.Drift(state.DriftOptions{Root: live, Generation: gen, OpenRC: openrc})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Files {
		got = append(got, f.String())
	}
	want := []string{
		"changed  /var/lib/app/seed (content): a seed",
		"changed  /var/lib/pkg/db (content)",
		"missing  /var/lib/pkg/gone",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Services) != 1 || r.Services[0].Name != "local" {
		t.Errorf("services: %+v", r.Services)
	}
	r, err = state.Drift(state.DriftOptions{Root: live, Generation: gen, Added: true})
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, f := range r.Files {
		if f.Kind == "added" {
			added = append(added, f.Path)
		}
	}
	if strings.Join(added, " ") != "/srv /var/log" { // a new directory is listed once
		t.Errorf("added: %q", added)
	}
}

func TestSeedChanges(t *testing.T) {
	old := generation(t, map[string][2]string{"/var/a": {"a1\n", state.Seed}, "/var/b": {"b1\n", state.Seed}, "/var/c": {"c1\n", state.Seed}})
	next := generation(t, map[string][2]string{"/var/a": {"a2\n", state.Seed}, "/var/b": {"b1\n", state.Seed}, "/var/c": {"c2\n", state.Seed}})
	node := t.TempDir()
	// The node has a (its own) and b (edited); c is not there yet.
	write(t, node, map[string]string{"a": "a1\n", "b": "mine\n"})
	w, err := state.SeedChanges(next, old, func(string) string { return node })
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 || !strings.HasPrefix(w[0], "seed /var/a (files.inline) changes, but the node already has its own") {
		t.Errorf("warnings: %q", w)
	}
}

func TestApplyRefusesLinks(t *testing.T) {
	g := generation(t, map[string][2]string{"/var/lib/app/app.conf": {"declared\n", state.Managed}})
	node, elsewhere := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(node, "var/lib"), 0o755)
	if err := os.Symlink(elsewhere, filepath.Join(node, "var/lib/app")); err != nil {
		t.Fatal(err)
	}
	usr := filepath.Join(node, "usr")
	if err := os.Symlink(filepath.Join(g, "usr"), usr); err != nil {
		t.Fatal(err)
	}
	_, err := state.Apply(node, time.Unix(0, 0))
	if err == nil || !strings.Contains(err.Error(), "is a symbolic link: not writing through it") {
		t.Errorf("Apply through a link: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("written through the link: %v", entries)
	}
}
