package boot

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

// TestSyncExtraLoaders: systemd-boot and extlinux kept in one boot
// directory (a disk image's ESP, booting through UEFI and BIOS): both
// configurations name the same files, and after a generation goes, both
// lose it and every file either names exists.
func TestSyncExtraLoaders(t *testing.T) {
	_, gens := testStore(t)
	dir := t.TempDir()
	o := testOptions(dir)
	o.Loader, o.ExtraLoaders = SystemdBoot, []string{Extlinux}
	if err := Sync(o, gens[:3], store.State{Default: 3}); err != nil {
		t.Fatal(err)
	}
	check := func(entries int) {
		t.Helper()
		ext := referenced(t, dir, "extlinux/extlinux.conf")
		var sdb []string
		confs, _ := filepath.Glob(filepath.Join(dir, "loader/entries/*.conf"))
		if len(confs) != entries {
			t.Errorf("%d systemd-boot entries, want %d", len(confs), entries)
		}
		for _, c := range confs {
			data, _ := os.ReadFile(c)
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) == 2 && (f[0] == "linux" || f[0] == "initrd") {
					if _, err := os.Stat(filepath.Join(dir, f[1])); err != nil {
						t.Errorf("%s names %s, which does not exist", filepath.Base(c), f[1])
					}
					sdb = append(sdb, f[1])
				}
			}
		}
		sort.Strings(ext)
		sort.Strings(sdb)
		if strings.Join(ext, " ") != strings.Join(sdb, " ") {
			t.Errorf("extlinux names %v, systemd-boot %v", ext, sdb)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "loader/loader.conf")); err != nil {
		t.Fatal(err)
	}
	check(4) // cairn, cairn-3, cairn-2, cairn-1
	if err := Sync(o, gens[2:3], store.State{Default: 3}); err != nil {
		t.Fatal(err)
	}
	check(2)
	if data, _ := os.ReadFile(filepath.Join(dir, "extlinux/extlinux.conf")); strings.Contains(string(data), "cairn-1") {
		t.Error("extlinux.conf still has generation 1")
	}
}

func TestConfigExtraLoaders(t *testing.T) {
	c := Config{BootDir: "/boot", Loader: SystemdBoot, ExtraLoaders: []string{Extlinux}, Root: "LABEL=cairn"}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if o := c.Options(nil); len(o.ExtraLoaders) != 1 || o.ExtraLoaders[0] != Extlinux {
		t.Fatalf("Options: %+v", o.ExtraLoaders)
	}
	for _, bad := range [][]string{{"lilo"}, {SystemdBoot}, {Extlinux, Extlinux}} {
		c.ExtraLoaders = bad
		if err := c.Check(); err == nil {
			t.Errorf("extra loaders %v: no error", bad)
		} else {
			t.Log(err)
		}
	}
}
