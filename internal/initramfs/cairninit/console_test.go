package cairninit

import (
	"slices"
	"strings"
	"testing"
)

// alpineInittab is the start of alpine-baselayout 3.4.3's /etc/inittab.
const alpineInittab = `# /etc/inittab

::sysinit:/sbin/openrc sysinit
::wait:/sbin/openrc default

# Set up a couple of getty's
tty1::respawn:/sbin/getty 38400 tty1
tty2::respawn:/sbin/getty 38400 tty2

# Put a getty on the serial port
#ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100
`

func TestConsoleDevices(t *testing.T) {
	tests := []struct {
		name   string
		active map[string]string
		want   []string
	}{
		{"serial only", map[string]string{"console": "ttyS0"}, []string{"ttyS0"}},
		{"tty0 resolves to the active VT", map[string]string{"console": "tty0 ttyS0", "tty0": "tty1"}, []string{"tty1", "ttyS0"}},
		{"twice named once", map[string]string{"console": "ttyS0 tty0 ttyS0", "tty0": "tty1"}, []string{"ttyS0", "tty1"}},
		{"hypervisor console", map[string]string{"console": "hvc0"}, []string{"hvc0"}},
		{"a loop of aliases ends", map[string]string{"console": "a", "a": "b", "b": "a"}, []string{"a"}},
		{"no console file at all", map[string]string{}, []string{"console"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConsoleDevices(func(n string) (string, bool) { s, ok := tt.active[n]; return s, ok })
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConsoleInittab(t *testing.T) {
	got, added := ConsoleInittab([]byte(alpineInittab), []string{"tty1", "ttyS0", "null", "bad name", "hvc0"})
	if !slices.Equal(added, []string{"ttyS0", "hvc0"}) {
		t.Fatalf("added %q, want ttyS0 and hvc0", added)
	}
	want := alpineInittab +
		"# enable login on alternative console (added by cairn-init, as Alpine's initramfs does)\n" +
		"ttyS0::respawn:/sbin/getty -L 0 ttyS0 vt100\n" +
		"# enable login on alternative console (added by cairn-init, as Alpine's initramfs does)\n" +
		"hvc0::respawn:/sbin/getty -L 0 hvc0 vt100\n"
	if string(got) != want {
		t.Errorf("inittab:\n%s\nwant:\n%s", got, want)
	}
	// A system that has its own line for the console keeps it, unchanged.
	own := alpineInittab + "ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100"
	got, added = ConsoleInittab([]byte(own), []string{"ttyS0"})
	if len(added) != 0 || string(got) != own {
		t.Errorf("an inittab with a ttyS0 line changed: added %q", added)
	}
	// The commented-out line does not count; no trailing newline is fixed.
	got, _ = ConsoleInittab([]byte("#ttyS0::x"), []string{"ttyS0"})
	if !strings.HasPrefix(string(got), "#ttyS0::x\n# enable") {
		t.Errorf("got %q", got)
	}
}

func TestConsoleSecuretty(t *testing.T) {
	got, changed := ConsoleSecuretty([]byte("console\ntty1\nttyS0\n"), []string{"ttyS0", "hvc0", "hvc0", "null"})
	if !changed || string(got) != "console\ntty1\nttyS0\nhvc0\n" {
		t.Errorf("got %q (changed %v)", got, changed)
	}
	got, changed = ConsoleSecuretty([]byte("ttyS0"), []string{"ttyS0"})
	if changed || string(got) != "ttyS0" {
		t.Errorf("an unchanged securetty: got %q (changed %v)", got, changed)
	}
}
