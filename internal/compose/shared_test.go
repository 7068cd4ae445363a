package compose

import (
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// What the tests on disk (Linux) and in memory (everywhere) share.

// buildTime is the mtime the tests compose with; seedTime is the time of
// everything in a seeded root before composing.
var (
	buildTime = time.Unix(1706290000, 0) // 2024-01-26
	seedTime  = time.Unix(1695795240, 0) // 2023-09-27, the fixture's
)

// fakeZone is enough of a TZif file for the tests.
const fakeZone = "TZif2\x00fake Europe/Berlin\n"

func exampleSystem() *manifest.System {
	return &manifest.System{
		Hostname: "node1.example.com",
		Timezone: "Europe/Berlin",
		Hosts: []manifest.HostEntry{
			{Address: "10.0.0.2", Names: []string{"nas.example.com", "nas"}},
			{Address: "fd00::3", Names: []string{"router"}},
		},
		Network: manifest.Network{
			Ifaces: []manifest.Interface{
				{Name: "eth0", DHCP: true},
				{Name: "br0", Address: []string{"10.0.0.5/24", "fd00::5/64"}, Gateway: "10.0.0.1", BridgePorts: []string{"eth1", "eth2"}},
				{Name: "wlan0", DHCP: true, Auto: boolp(false)},
				{Name: "eth3"},
			},
			IWD: map[string]map[string]string{
				"Network": {"NameResolvingService": "resolvconf", "EnableIPv6": "true"},
				"General": {"EnableNetworkConfiguration": "true"},
			},
		},
		Fstab: []manifest.Mount{
			{Device: "LABEL=cairn", Mountpoint: "/home", Type: "btrfs", Options: []string{"subvol=@home", "noatime"}},
			{Device: "/dev/vdb", Type: "swap"},
			{Device: "tmpfs", Mountpoint: "/tmp", Type: "tmpfs", Options: []string{"nosuid", "nodev", "size=25%"}},
			{Device: "/dev/sdb1", Mountpoint: "/media/usb", Type: "vfat", Options: []string{"noauto", "rw"}},
			{Device: "//nas/My Files", Mountpoint: "/srv/my files", Type: "cifs", Dump: 0, Pass: 0},
			{Device: "UUID=2d6a7c1e-0c1f-4f59-a8a4-3d2c86a1b0f1", Mountpoint: "/", Type: "ext4", Pass: 1},
		},
		Sysctl:  map[string]string{"vm.swappiness": "10", "net.ipv4.ip_forward": "1", "kernel.pid_max": "4194304"},
		Modules: []string{"br_netfilter", "overlay", "wireguard"},
		Kernel:  manifest.Kernel{Package: "linux-virt", Cmdline: []string{"console=ttyS0,115200", "quiet", "rootflags=subvol=@cairn/generations/3"}},
		Persist: []string{"/var/lib/nomad", "/home", "/var"},
		Health:  []manifest.HealthCheck{{Service: "sshd"}, {Name: "leader", Command: "wget -q -O /dev/null http://127.0.0.1:4646/v1/status/leader", Timeout: "2m"}},
	}
}

var systemFiles = []string{
	"etc/hostname", "etc/hosts", "etc/network/interfaces", "etc/iwd/main.conf", "etc/fstab",
	"etc/sysctl.d/00-cairn.conf", "etc/modules-load.d/cairn.conf", "etc/cairn/cmdline",
	"etc/cairn/health.json", "etc/cairn/persist",
}

func intp(i int) *int    { return &i }
func boolp(b bool) *bool { return &b }
