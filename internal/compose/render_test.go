package compose

import (
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func TestRenderHosts(t *testing.T) {
	tests := []struct {
		name, existing, hostname string
		entries                  []manifest.HostEntry
		want                     string
	}{
		{"no loopback line", "# mine\n10.1.1.1\tgw\n", "node1", nil,
			"127.0.0.1\tnode1 localhost localhost.localdomain\n# mine\n10.1.1.1\tgw\n"},
		{"short name of a full one", alpineHosts, "node1.lan", nil,
			"127.0.0.1\tnode1.lan node1 localhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n"},
		{"declared address replaces the root's line", alpineHosts + "10.0.0.2 old\n", "", []manifest.HostEntry{{Address: "10.0.0.2", Names: []string{"nas"}}},
			alpineHosts + "10.0.0.2\tnas\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := renderHosts([]byte(tt.existing), tt.hostname, tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			again, err := renderHosts(got, tt.hostname, tt.entries)
			if err != nil || string(again) != string(got) {
				t.Errorf("rendering again gave\n%q (%v)", again, err)
			}
		})
	}
}

func TestRenderFstabAgain(t *testing.T) {
	existing := "/dev/cdrom\t/media/cdrom\tiso9660\tnoauto,ro 0 0\n/dev/sda2 none swap sw 0 0\n"
	mounts := []manifest.Mount{
		{Device: "/dev/sda2", Type: "swap", Options: []string{"sw"}},
		{Device: "tmpfs", Mountpoint: "/tmp", Type: "tmpfs"},
	}
	once, err := renderFstab([]byte(existing), mounts)
	if err != nil {
		t.Fatal(err)
	}
	want := "/dev/cdrom\t/media/cdrom\tiso9660\tnoauto,ro 0 0\n/dev/sda2\tnone\tswap\tsw\t0\t0\ntmpfs\t/tmp\ttmpfs\tdefaults\t0\t0\n"
	if string(once) != want {
		t.Errorf("got\n%q\nwant\n%q", once, want)
	}
	twice, err := renderFstab(once, mounts)
	if err != nil || string(twice) != string(once) {
		t.Errorf("rendering again gave\n%q (%v)", twice, err)
	}
}

func TestRootRel(t *testing.T) {
	for in, want := range map[string]string{"/": "", "/etc/": "etc", "//etc//x": "etc/x", "/etc/./x": "etc/x"} {
		if got, err := rootRel(in); err != nil || got != want {
			t.Errorf("rootRel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"etc", "", "/etc/../x", "/..", "/a\x00b"} {
		if _, err := rootRel(in); err == nil {
			t.Errorf("rootRel(%q) accepted", in)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]uint32{"": 0o644, "0600": 0o600, "755": 0o755, "0o4755": 0o4755} {
		if got, err := parseMode(in, 0o644); err != nil || got != want {
			t.Errorf("parseMode(%q) = %o, %v; want %o", in, got, err, want)
		}
	}
	for _, in := range []string{"8", "0x1ff", "10000", "-1", "rwx"} {
		if _, err := parseMode(in, 0o644); err == nil {
			t.Errorf("parseMode(%q) accepted", in)
		}
	}
}
