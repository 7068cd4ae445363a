package kmod

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	cases := map[string]string{
		"kernel/drivers/usb/storage/usb-storage.ko":     "usb_storage",
		"kernel/fs/btrfs/btrfs.ko.zst":                  "btrfs",
		"kernel/drivers/virtio/virtio_pci.ko.xz":        "virtio_pci",
		"updates/dkms/zfs.ko.gz":                        "zfs",
		"kernel/drivers/block/virtio_blk.ko":            "virtio_blk",
		"kernel/drivers/scsi/sd_mod.ko.bz2":             "",
		"kernel/drivers/scsi/notamodule.o":              "",
		"kernel/drivers/scsi/.ko":                       "",
		"kernel/drivers/scsi/ahci-platform-thing.ko.gz": "ahci_platform_thing",
	}
	for p, want := range cases {
		if IsModuleFile(p) != (want != "") {
			t.Errorf("IsModuleFile(%s) = %v", p, !(want != ""))
		}
		if want != "" && NameOf(p) != want {
			t.Errorf("NameOf(%s) = %s, want %s", p, NameOf(p), want)
		}
	}
}

func TestParseDep(t *testing.T) {
	d, err := ParseDep(strings.NewReader(`# comment
kernel/a.ko: kernel/b.ko.xz kernel/c-d.ko

kernel/b.ko.xz: kernel/c-d.ko
kernel/c-d.ko:
`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Order, []string{"a", "b", "c_d"}) {
		t.Errorf("order %q", d.Order)
	}
	if !reflect.DeepEqual(d.Deps["a"], []string{"b", "c_d"}) || d.Paths["b"] != "kernel/b.ko.xz" || len(d.Deps["c_d"]) != 0 {
		t.Errorf("parsed %+v", d)
	}
	for _, bad := range []string{"kernel/a.ko\n", "kernel/a.ko: x.o\n", "kernel/a.ko:\nkernel/a.ko:\n", "a.txt: b.ko\n"} {
		if _, err := ParseDep(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseDep(%q) succeeded", bad)
		}
	}
}

func TestParseSoftdepAlias(t *testing.T) {
	s, err := ParseSoftdep(strings.NewReader("# x\nsoftdep btrfs pre: crc32c xxhash64 post: foo\nsoftdep usb-storage pre: uas\nsoftdep btrfs pre: sha256\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Softdeps{
		"btrfs":       {Pre: []string{"crc32c", "xxhash64", "sha256"}, Post: []string{"foo"}},
		"usb_storage": {Pre: []string{"uas"}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("softdeps %+v", s)
	}
	if _, err := ParseSoftdep(strings.NewReader("options btrfs x=1\n")); err == nil {
		t.Error("a non-softdep line was accepted")
	}
	aliases, err := ParseAlias(strings.NewReader("alias fs-btrfs btrfs\nalias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\nalias crypto-crc32c crc32c-intel\nalias crypto-crc32c crc32c_generic\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"fs-btrfs": {"btrfs"},
		"pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00": {"virtio_pci"},
		"crypto-crc32c": {"crc32c_generic", "crc32c_intel"},
		"crypto-sha256": nil,
		"fs-btrfs-nope": nil,
	} {
		if got := Match(aliases, name); !reflect.DeepEqual(got, want) {
			t.Errorf("Match(%s) = %q, want %q", name, got, want)
		}
	}
	if _, err := ParseAlias(strings.NewReader("alias onlyone\n")); err == nil {
		t.Error("a short alias line was accepted")
	}
}

func TestBuiltinInfo(t *testing.T) {
	infos := ParseBuiltinInfo([]byte("crc32c_generic.alias=crypto-crc32c\x00crc32c_generic.alias=crc32c\x00ext4.softdep=pre: crypto-crc32c\x00bad\x00usb-common.license=GPL\x00"))
	if got := infos["crc32c_generic"]["alias"]; !reflect.DeepEqual(got, []string{"crypto-crc32c", "crc32c"}) {
		t.Errorf("aliases %q", got)
	}
	if got := infos["ext4"].Softdeps().Pre; !reflect.DeepEqual(got, []string{"crypto-crc32c"}) {
		t.Errorf("ext4 softdeps %q", got)
	}
	if infos["usb_common"].First("license") != "GPL" {
		t.Errorf("names not normalized: %v", infos)
	}
	info := Info{"depends": {"virtio,virtio-ring,"}, "softdep": {"pre: a b", "post: c"}}
	if got := info.Depends(); !reflect.DeepEqual(got, []string{"virtio", "virtio_ring"}) {
		t.Errorf("depends %q", got)
	}
	if got := info.Softdeps(); !reflect.DeepEqual(got, Softdeps{Pre: []string{"a", "b"}, Post: []string{"c"}}) {
		t.Errorf("softdeps %+v", got)
	}
}

func TestLoadOrder(t *testing.T) {
	cases := []struct {
		name      string
		mods      []string
		deps, pre map[string][]string
		want      string
		cycle     bool
	}{
		{
			name: "chain",
			mods: []string{"c", "b", "a"},
			deps: map[string][]string{"a": {"b", "c"}, "b": {"c"}},
			want: "c b a",
		},
		{
			name: "independent modules by name",
			mods: []string{"z", "m", "a", "m"},
			want: "a m z",
		},
		{
			name: "soft pre-dependency first",
			mods: []string{"btrfs", "xxhash", "xor"},
			deps: map[string][]string{"btrfs": {"xor"}},
			pre:  map[string][]string{"btrfs": {"xxhash", "crc32c"}}, // crc32c built in: ignored
			want: "xor xxhash btrfs",
		},
		{
			name: "a dependency outside the set is ignored",
			mods: []string{"a"},
			deps: map[string][]string{"a": {"builtin"}},
			want: "a",
		},
		{
			name:  "hard cycle",
			mods:  []string{"a", "b", "c"},
			deps:  map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}},
			cycle: true,
		},
		{
			name: "soft cycle is broken",
			mods: []string{"a", "b"},
			pre:  map[string][]string{"a": {"b"}, "b": {"a"}},
			want: "b a",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadOrder(c.mods, c.deps, c.pre)
			var ce *CycleError
			if c.cycle {
				if !errors.As(err, &ce) {
					t.Fatalf("want a cycle error, got %q, %v", got, err)
				}
				if !strings.Contains(err.Error(), "a -> b -> c -> a") {
					t.Errorf("cycle reported as %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, " "); s != c.want {
				t.Errorf("order %s, want %s", s, c.want)
			}
		})
	}
}
