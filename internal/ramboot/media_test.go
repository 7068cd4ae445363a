package ramboot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeImage writes an image directory as cairn image --format initramfs
// does, with contents that make its name differ per marker.
func fakeImage(t *testing.T, marker string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), marker)
	os.Mkdir(dir, 0o700)
	for n, c := range map[string]string{"vmlinuz": "kernel", "initramfs.gz": "system " + marker, "cmdline": "console=ttyS0 quiet\n"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeMedia is a medium with an ldlinux.sys whose end is an empty ADV,
// as extlinux --install leaves it.
func fakeMedia(t *testing.T) Media {
	t.Helper()
	m := Media{Dir: t.TempDir()}
	os.Mkdir(m.path(LoaderDir), 0o755)
	a := EmptyADV()
	if err := os.WriteFile(m.path(LoaderDir+"/ldlinux.sys"), append(make([]byte, 4096), a[:]...), 0o444); err != nil {
		t.Fatal(err)
	}
	return m
}

func bootOnce(t *testing.T, m Media) string {
	t.Helper()
	a, err := ReadADVFile(m.path(LoaderDir + "/ldlinux.sys"))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := a.Get(TagBootOnce)
	return v
}

// boot does what syslinux does at boot: it takes the boot-once out of
// the ADV and boots that entry, else the default; it returns what the
// booted system's command line says.
func boot(t *testing.T, m Media) Booted {
	t.Helper()
	entry := bootOnce(t, m)
	if entry != "" {
		a, _ := ReadADVFile(m.path(LoaderDir + "/ldlinux.sys"))
		a.Set(TagBootOnce, "")
		if err := WriteADVFile(m.path(LoaderDir+"/ldlinux.sys"), a); err != nil {
			t.Fatal(err)
		}
	} else {
		entry = EntryRegular
	}
	conf, err := os.ReadFile(m.path(LoaderDir + "/extlinux.conf"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(conf), "LABEL "+entry+"\n")
	if !ok {
		t.Fatalf("extlinux.conf has no entry %s:\n%s", entry, conf)
	}
	_, app, _ := strings.Cut(rest, "APPEND ")
	app, _, _ = strings.Cut(app, "\n")
	return ParseCmdline(app)
}

func TestTrials(t *testing.T) {
	m := fakeMedia(t)
	if _, err := m.ReadState(); err == nil || !strings.Contains(err.Error(), "cairn ram install") {
		t.Fatalf("an empty medium: %v", err)
	}
	a, err := m.Install(fakeImage(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if b := boot(t, m); b != (Booted{Image: a, Entry: EntryRegular}) {
		t.Fatalf("first boot: %+v, want %s regular", b, a)
	}

	// A good trial: booted once, confirmed, regular.
	b, err := m.Try(fakeImage(t, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(Booted{Image: a, Entry: EntryRegular}); st.NextBoot != b || st.Trial != b {
		t.Errorf("status after try: %+v", st)
	}
	booted := boot(t, m)
	if booted != (Booted{Image: b, Entry: EntryNew}) {
		t.Fatalf("trial boot: %+v", booted)
	}
	if st, _ := m.Status(booted); st.NextBoot != a {
		t.Errorf("during the trial the next boot is %s, want the regular %s", st.NextBoot, a)
	}
	msg, err := m.Confirm(booted)
	if err != nil || !strings.Contains(msg, "confirmed") {
		t.Fatalf("confirm: %q %v", msg, err)
	}
	s, _ := m.ReadState()
	if s.Regular != b || s.Old != a || s.Trial != "" || !s.LastTrial.Confirmed {
		t.Fatalf("after confirming: %+v", s)
	}
	if got := boot(t, m); got != (Booted{Image: b, Entry: EntryRegular}) {
		t.Errorf("boot after confirming: %+v", got)
	}

	// A trial that is not confirmed: the next boot is regular again
	// with nothing run in between, and Settle records the failure.
	c, err := m.Try(fakeImage(t, "c"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.path(imagesDir + "/" + a)); err != nil {
		t.Errorf("the old image is gone: %v", err)
	}
	if got := boot(t, m); got != (Booted{Image: c, Entry: EntryNew}) {
		t.Fatalf("trial boot: %+v", got)
	}
	booted = boot(t, m)
	if booted != (Booted{Image: b, Entry: EntryRegular}) {
		t.Fatalf("the boot after an unconfirmed trial: %+v", booted)
	}
	if msg, _ := m.Confirm(booted); !strings.Contains(msg, "no trial") {
		t.Errorf("confirm after the fallback: %q", msg)
	}
	st, err := m.Status(booted)
	if err != nil {
		t.Fatal(err)
	}
	if st.Trial != "" || st.LastTrial == nil || st.LastTrial.Confirmed || st.LastTrial.Image != c || st.Regular != b || st.Old != a {
		t.Fatalf("status after the fallback: %+v %+v", st, st.LastTrial)
	}
	if _, err := os.Stat(m.path(imagesDir + "/" + c)); err == nil {
		t.Error("the failed image is still on the medium")
	}

	// Rollback: old and regular trade places.
	if _, err := m.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := boot(t, m); got != (Booted{Image: a, Entry: EntryRegular}) {
		t.Errorf("boot after the rollback: %+v", got)
	}
	// A pending trial is cancelled by a rollback.
	if _, err := m.Try(fakeImage(t, "d")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rollback(); err != nil {
		t.Fatal(err)
	}
	if v := bootOnce(t, m); v != "" {
		t.Errorf("boot-once %q after a rollback", v)
	}
	if got := boot(t, m); got != (Booted{Image: b, Entry: EntryRegular}) {
		t.Errorf("boot after the second rollback: %+v", got)
	}
	if _, err := m.Try(fakeImage(t, "b")); err == nil {
		t.Error("trying the regular image was accepted")
	}
}

func TestParseCmdline(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Booted
	}{
		{"console=ttyS0 cairn.ram.image=abc cairn.ram.entry=new", Booted{"abc", "new"}},
		{"BOOT_IMAGE=/vmlinuz quiet", Booted{}},
	} {
		if got := ParseCmdline(c.in); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
}

// TestStaleBootOnce: a loader that boots the trial but fails to take
// the boot-once out of the ADV would boot it forever; the trial's
// confirm --boot deletes it and says so.
func TestStaleBootOnce(t *testing.T) {
	m := fakeMedia(t)
	if _, err := m.Install(fakeImage(t, "a")); err != nil {
		t.Fatal(err)
	}
	b, err := m.Try(fakeImage(t, "b"))
	if err != nil {
		t.Fatal(err)
	}
	var warned []string
	m.Warn = func(s string) { warned = append(warned, s) }
	if _, err := m.Settle(Booted{Image: b, Entry: EntryNew}); err != nil {
		t.Fatal(err)
	}
	if v := bootOnce(t, m); v != "" || len(warned) != 1 || !strings.Contains(warned[0], "left its boot-once") {
		t.Errorf("boot-once %q, warnings %q", v, warned)
	}
	if s, _ := m.ReadState(); s.Trial != b {
		t.Errorf("the trial is gone: %+v", s)
	}
}
