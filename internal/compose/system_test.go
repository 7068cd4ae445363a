//go:build linux

package compose

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func seedTzdata(t *testing.T, root string) {
	t.Helper()
	mustWrite(t, filepath.Join(root, "usr/share/zoneinfo/Europe/Berlin"), fakeZone, 0o644)
	stampAll(t, root, seedTime)
}

func TestSystem(t *testing.T) {
	root := seedRoot(t)
	seedTzdata(t, root)
	before := scan(t, root)
	if err := System(root, exampleSystem(), buildTime); err != nil {
		t.Fatal(err)
	}
	for _, f := range systemFiles {
		golden(t, "system/"+f, readRootFile(t, root, f))
		wantOwnerMode(t, root, f, 0o644, 0, 0)
	}
	after := scan(t, root)
	golden(t, "system/tree", listing(after))
	checkStamps(t, before, after)
	if got := string(readRootFile(t, root, "etc/zoneinfo/Europe/Berlin")); got != fakeZone {
		t.Errorf("/etc/zoneinfo/Europe/Berlin holds %q", got)
	}
	wantOwnerMode(t, root, "etc/zoneinfo/Europe/Berlin", 0o644, 0, 0)
	if target, err := os.Readlink(filepath.Join(root, "etc/localtime")); err != nil || target != "zoneinfo/Europe/Berlin" {
		t.Errorf("/etc/localtime -> %q (%v), want zoneinfo/Europe/Berlin", target, err)
	}

	// A second run changes nothing.
	first := listing(after)
	if err := System(root, exampleSystem(), buildTime); err != nil {
		t.Fatal(err)
	}
	if second := listing(scan(t, root)); string(second) != string(first) {
		t.Errorf("a second run changed the root:\n%s", second)
	}
}

func TestSystemEmptyLeavesRoot(t *testing.T) {
	root := seedRoot(t)
	before := scan(t, root)
	if err := System(root, &manifest.System{}, buildTime); err != nil {
		t.Fatal(err)
	}
	after := scan(t, root)
	checkStamps(t, before, after)
	// Only the (empty) command line and health checks are recorded.
	delete(after, "/etc/cairn")
	delete(after, "/etc/cairn/cmdline")
	delete(after, "/etc/cairn/health.json")
	delete(after, "/etc/cairn/persist")
	delete(after, "/var")
	for _, m := range []string{"/dev", "/proc", "/sys", "/run", "/tmp"} {
		if _, ok := before[m]; !ok {
			delete(after, m)
		}
	}
	delete(after, "/etc")
	delete(before, "/etc")
	if string(listing(after)) != string(listing(before)) {
		t.Errorf("an empty manifest changed the root:\n%s", listing(after))
	}
	if got := string(readRootFile(t, root, "etc/cairn/cmdline")); got != "\n" {
		t.Errorf("cmdline %q", got)
	}
}

func TestSystemInterfacesVerbatim(t *testing.T) {
	root := seedRoot(t)
	text := "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp"
	sys := &manifest.System{Network: manifest.Network{Interfaces: text}}
	if err := System(root, sys, buildTime); err != nil {
		t.Fatal(err)
	}
	if got := string(readRootFile(t, root, "etc/network/interfaces")); got != text+"\n" {
		t.Errorf("interfaces:\n%s", got)
	}
}

func TestTimezone(t *testing.T) {
	t.Run("without tzdata", func(t *testing.T) {
		root := seedRoot(t)
		err := System(root, &manifest.System{Timezone: "Europe/Berlin"}, buildTime)
		wantErr(t, err, "timezone: Europe/Berlin needs the time zone database: add tzdata to packages")
	})
	t.Run("unknown zone", func(t *testing.T) {
		root := seedRoot(t)
		seedTzdata(t, root)
		err := System(root, &manifest.System{Timezone: "Europe/Atlantis"}, buildTime)
		wantErr(t, err, `timezone: "Europe/Atlantis" is not a zone`)
	})
	t.Run("not a zone name", func(t *testing.T) {
		root := seedRoot(t)
		seedTzdata(t, root)
		for _, zone := range []string{"../../etc/shadow", "/etc/shadow", "Europe/../Europe/Berlin", "Europe//Berlin"} {
			wantErr(t, System(root, &manifest.System{Timezone: zone}, buildTime), "is not a time zone name")
		}
	})
	t.Run("a directory", func(t *testing.T) {
		root := seedRoot(t)
		seedTzdata(t, root)
		wantErr(t, System(root, &manifest.System{Timezone: "Europe"}, buildTime), "timezone: Europe")
	})
	t.Run("UTC needs nothing", func(t *testing.T) {
		root := seedRoot(t)
		if err := System(root, &manifest.System{Timezone: "UTC"}, buildTime); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"etc/localtime", "etc/zoneinfo"} {
			if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
				t.Errorf("%s exists for UTC", p)
			}
		}
	})
}

func TestSystemErrors(t *testing.T) {
	tests := []struct {
		name string
		sys  manifest.System
		want string
	}{
		{"both interface forms", manifest.System{Network: manifest.Network{Interfaces: "auto lo\n", Ifaces: []manifest.Interface{{Name: "eth0"}}}},
			"network: interfaces and ifaces"},
		{"address without prefix", manifest.System{Network: manifest.Network{Ifaces: []manifest.Interface{{Name: "eth0", Address: []string{"10.0.0.5"}}}}},
			`network.ifaces[0] (eth0): address[0]: "10.0.0.5" is not an address in CIDR form`},
		{"bad gateway", manifest.System{Network: manifest.Network{Ifaces: []manifest.Interface{{Name: "eth0", Address: []string{"10.0.0.5/24"}, Gateway: "router"}}}},
			`network.ifaces[0] (eth0): gateway: "router" is not an IP address`},
		{"loopback declared", manifest.System{Network: manifest.Network{Ifaces: []manifest.Interface{{Name: "lo"}}}},
			"network.ifaces[0] (lo): the loopback is always configured"},
		{"interface twice", manifest.System{Network: manifest.Network{Ifaces: []manifest.Interface{{Name: "eth0"}, {Name: "eth0"}}}},
			"network.ifaces[1] (eth0): declared again (first as network.ifaces[0])"},
		{"bad host name", manifest.System{Hostname: "node_1"}, `hostname: "node_1" is not a valid host name`},
		{"bad hosts address", manifest.System{Hosts: []manifest.HostEntry{{Address: "10.0.0", Names: []string{"x"}}}},
			`hosts[0]: address "10.0.0" is not an IP address`},
		{"fstab without type", manifest.System{Fstab: []manifest.Mount{{Device: "/dev/sda1", Mountpoint: "/data"}}},
			"fstab[0]: type: the file system type is needed"},
		{"fstab relative mount point", manifest.System{Fstab: []manifest.Mount{{Device: "/dev/sda1", Mountpoint: "data", Type: "ext4"}}},
			`fstab[0]: mountpoint: "data" is not an absolute path`},
		{"fstab mount point twice", manifest.System{Fstab: []manifest.Mount{{Device: "a", Mountpoint: "/d", Type: "ext4"}, {Device: "b", Mountpoint: "/d", Type: "ext4"}}},
			"fstab[1]: mount point /d is already declared by fstab[0]"},
		{"iwd key with '='", manifest.System{Network: manifest.Network{IWD: map[string]map[string]string{"General": {"a=b": "c"}}}},
			`network.iwd.General: key "a=b" is not a valid key`},
		{"sysctl name with a space", manifest.System{Sysctl: map[string]string{"vm swappiness": "1"}},
			`sysctl: "vm swappiness" is not a kernel parameter name`},
		{"module with a slash", manifest.System{Modules: []string{"../evil"}}, `modules[0]: "../evil" is not a module name`},
		{"cmdline with a newline", manifest.System{Kernel: manifest.Kernel{Cmdline: []string{"quiet\ninit=/bin/sh"}}},
			"kernel.cmdline[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := seedRoot(t)
			wantErr(t, System(root, &tt.sys, buildTime), tt.want)
		})
	}
}

func TestSystemNoNetworkIsLoopbackOnly(t *testing.T) {
	interfaces := "etc/network/interfaces"
	t.Run("with OpenRC's networking", func(t *testing.T) {
		root := seedRoot(t)
		mustMkdir(t, filepath.Join(root, "etc/init.d"), 0o755)
		mustWrite(t, filepath.Join(root, "etc/init.d/networking"), "#!/sbin/openrc-run\n", 0o755)
		if err := System(root, &manifest.System{}, buildTime); err != nil {
			t.Fatal(err)
		}
		if got := string(readRootFile(t, root, interfaces)); got != "auto lo\niface lo inet loopback\n" {
			t.Errorf("interfaces:\n%s", got)
		}
		wantOwnerMode(t, root, interfaces, 0o644, 0, 0)
	})
	t.Run("a packaged file is kept", func(t *testing.T) {
		root := seedRoot(t)
		mustMkdir(t, filepath.Join(root, "etc/init.d"), 0o755)
		mustMkdir(t, filepath.Join(root, "etc/network"), 0o755)
		mustWrite(t, filepath.Join(root, "etc/init.d/networking"), "#!/sbin/openrc-run\n", 0o755)
		mustWrite(t, filepath.Join(root, interfaces), "auto eth0\n", 0o644)
		if err := System(root, &manifest.System{}, buildTime); err != nil {
			t.Fatal(err)
		}
		if got := string(readRootFile(t, root, interfaces)); got != "auto eth0\n" {
			t.Errorf("interfaces:\n%s", got)
		}
	})
	t.Run("without the service", func(t *testing.T) {
		root := seedRoot(t)
		if err := System(root, &manifest.System{}, buildTime); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(root, interfaces)); !os.IsNotExist(err) {
			t.Errorf("%s written for a system without the networking service (%v)", interfaces, err)
		}
	})
}

func TestSystemDHCPResolvConfInRun(t *testing.T) {
	dhcp := manifest.Network{Ifaces: []manifest.Interface{{Name: "eth0", DHCP: true}}}
	withUdhcpc := func(t *testing.T) string {
		root := seedRoot(t)
		mustMkdir(t, filepath.Join(root, "usr/share/udhcpc"), 0o755)
		mustWrite(t, filepath.Join(root, udhcpcScript), "#!/bin/sh\n", 0o755)
		mustMkdir(t, filepath.Join(root, "etc/udhcpc"), 0o755)
		mustWrite(t, filepath.Join(root, udhcpcConf), "# Do not overwrite /etc/resolv.conf\n#RESOLV_CONF=\"no\"\n", 0o644)
		return root
	}
	t.Run("DHCP", func(t *testing.T) {
		root := withUdhcpc(t)
		if err := System(root, &manifest.System{Network: dhcp}, buildTime); err != nil {
			t.Fatal(err)
		}
		if target, err := os.Readlink(filepath.Join(root, "etc/resolv.conf")); err != nil || target != "/run/resolv.conf" {
			t.Errorf("/etc/resolv.conf: link to %q (%v), want /run/resolv.conf", target, err)
		}
		want := "# Do not overwrite /etc/resolv.conf\n#RESOLV_CONF=\"no\"\n# cairn: /etc is read-only; /etc/resolv.conf links here\nRESOLV_CONF=\"/run/resolv.conf\"\n"
		if got := string(readRootFile(t, root, udhcpcConf)); got != want {
			t.Errorf("udhcpc.conf:\n%s", got)
		}
		// Sourced by udhcpc's script, the setting is what counts.
		out, err := exec.Command("sh", "-c", ". "+filepath.Join(root, udhcpcConf)+`; printf %s "$RESOLV_CONF"`).Output()
		if err != nil || string(out) != "/run/resolv.conf" {
			t.Errorf("RESOLV_CONF after sourcing: %q (%v)", out, err)
		}
	})
	t.Run("declared by the manifest", func(t *testing.T) {
		root := withUdhcpc(t)
		sys := &manifest.System{Network: dhcp, Files: manifest.Files{Inline: []manifest.InlineFile{{Path: "/etc/resolv.conf", Content: "nameserver 10.0.0.1\n"}}}}
		if err := System(root, sys, buildTime); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(root, "etc/resolv.conf")); !os.IsNotExist(err) {
			t.Errorf("/etc/resolv.conf made though the manifest declares it (%v)", err)
		}
	})
	t.Run("static addresses", func(t *testing.T) {
		root := withUdhcpc(t)
		static := manifest.Network{Ifaces: []manifest.Interface{{Name: "eth0", Address: []string{"10.0.0.5/24"}}}}
		if err := System(root, &manifest.System{Network: static}, buildTime); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(root, "etc/resolv.conf")); !os.IsNotExist(err) {
			t.Errorf("/etc/resolv.conf made without DHCP (%v)", err)
		}
	})
}
