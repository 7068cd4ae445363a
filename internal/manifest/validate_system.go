package manifest

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
)

func (v *validator) host(s *System) {
	if s.Hostname != "" && !validHostname(s.Hostname) {
		v.add("hostname", "%s is not a host name: use letters, digits and inner hyphens, dot-separated labels of at most 63 characters (RFC 1123), like node-1", quoted(s.Hostname))
	}
	if tz := s.Timezone; tz != "" && tz != "UTC" && !timezoneName.MatchString(tz) {
		v.add("timezone", "%s is not a time zone: write Area/City from the tz database, like Europe/Berlin, or UTC", quoted(tz))
	}
	for i, h := range s.Hosts {
		p := indexPath("hosts", i)
		if h.Address == "" {
			v.add(keyPath(p, "address"), "missing: give an IP address, like 10.0.0.5")
		} else if _, err := netip.ParseAddr(h.Address); err != nil {
			v.add(keyPath(p, "address"), "%s is not an IP address: write one like 10.0.0.5 or fd00::5", quoted(h.Address))
		}
		if len(h.Names) == 0 {
			v.add(keyPath(p, "names"), "missing: list the host names for %s", h.Address)
		}
		for j, n := range h.Names {
			if !validHostname(n) {
				v.add(indexPath(keyPath(p, "names"), j), "%s is not a host name (RFC 1123): use letters, digits, inner hyphens and dots", quoted(n))
			}
		}
	}
}

func (v *validator) network(n *Network) {
	if n.Interfaces != "" && len(n.Ifaces) > 0 {
		v.add("network.ifaces", "give either interfaces (the file's text) or ifaces (the structured form), not both")
	}
	names := unique{}
	for i, f := range n.Ifaces {
		p := indexPath("network.ifaces", i)
		switch {
		case f.Name == "":
			v.add(keyPath(p, "name"), "missing: name the interface, like eth0")
		case !ifaceName.MatchString(f.Name):
			v.add(keyPath(p, "name"), "%s is not an interface name: at most 15 letters, digits and . _ - :", quoted(f.Name))
		case f.Name == "lo":
			v.add(keyPath(p, "name"), "the loopback is always configured; leave lo out")
		default:
			names.seen(v, keyPath(p, "name"), f.Name, "interface")
		}
		for j, a := range f.Address {
			if _, err := netip.ParsePrefix(a); err != nil {
				v.add(indexPath(keyPath(p, "address"), j), "%s is not an address in CIDR form: write it with its prefix length, like 10.0.0.5/24 or fd00::5/64", quoted(a))
			}
		}
		if f.Gateway != "" {
			if _, err := netip.ParseAddr(f.Gateway); err != nil {
				v.add(keyPath(p, "gateway"), "%s is not an IP address: write one like 10.0.0.1", quoted(f.Gateway))
			}
		}
		for j, port := range f.BridgePorts {
			if !ifaceName.MatchString(port) {
				v.add(indexPath(keyPath(p, "bridgePorts"), j), "%s is not an interface name", quoted(port))
			}
		}
	}
	for _, section := range sortedKeys(n.IWD) {
		p := keyPath("network.iwd", section)
		if section == "" || strings.ContainsAny(section, "[]\n") {
			v.add(p, "%s is not an iwd section name, like General or Network", quoted(section))
			continue
		}
		for _, k := range sortedKeys(n.IWD[section]) {
			if k == "" || strings.ContainsAny(k, "=\n") {
				v.add(keyPath(p, k), "%s is not an iwd setting name, like EnableNetworkConfiguration", quoted(k))
			}
		}
	}
}

func (v *validator) fstab(mounts []Mount) {
	points := unique{}
	for i, m := range mounts {
		p := indexPath("fstab", i)
		switch {
		case m.Device == "":
			v.add(keyPath(p, "device"), "missing: what to mount, like UUID=..., LABEL=data, /dev/sda1 or tmpfs")
		case hasSpace(m.Device):
			v.add(keyPath(p, "device"), "%s contains white space, which separates fstab fields: write a space as \\040", quoted(m.Device))
		}
		switch {
		case m.Type == "":
			v.add(keyPath(p, "type"), "missing: the file system type, like ext4, btrfs, vfat, tmpfs, nfs or swap")
		case hasSpace(m.Type):
			v.add(keyPath(p, "type"), "%s contains white space", quoted(m.Type))
		}
		mp := keyPath(p, "mountpoint")
		switch {
		case m.Type == "swap" && (m.Mountpoint == "none" || m.Mountpoint == "swap" || m.Mountpoint == ""):
		case m.Mountpoint == "/":
			v.add(mp, "/ is the generation cairn boots: it is mounted by cairn, remove this entry")
		case hasSpace(m.Mountpoint):
			v.add(mp, "%s contains white space, which separates fstab fields: write a space as \\040", quoted(m.Mountpoint))
		default:
			v.absPath(mp, m.Mountpoint, "/srv")
			if why := unmountable(m.Mountpoint); why != "" {
				v.add(mp, "%s", why)
			}
			if m.Mountpoint != "" {
				points.seen(v, mp, m.Mountpoint, "mount point")
			}
		}
		for j, o := range m.Options {
			if o == "" || hasSpace(o) || strings.Contains(o, ",") {
				v.add(indexPath(keyPath(p, "options"), j), "%s is not one mount option: list options one per entry, without spaces or commas", quoted(o))
			}
		}
		if m.Dump < 0 || m.Dump > 1 {
			v.add(keyPath(p, "dump"), "%d: dump is 0 or 1", m.Dump)
		}
		if m.Pass < 0 || m.Pass > 2 {
			v.add(keyPath(p, "pass"), "%d: pass is 0 (no check), 1 (the root file system) or 2 (others)", m.Pass)
		}
	}
}

// unmountable says why an fstab entry cannot be mounted at mountpoint at
// boot, or "": below a tmpfs that is empty at every boot the mount point
// does not exist, and /run itself holds what cairn-init hands over.
func unmountable(mountpoint string) string {
	for _, t := range layout.BootTmpfs() {
		switch {
		case mountpoint == t.Dir && t.Dir == "/run":
			return "/run is " + t.What + ": mount somewhere else"
		case strings.HasPrefix(mountpoint, t.Dir+"/"):
			return fmt.Sprintf("%s is %s, so %s does not exist when fstab is mounted: mount somewhere else", t.Dir, t.What, mountpoint)
		}
	}
	return ""
}

func (v *validator) persist(paths []string) {
	seen := unique{}
	for i, p := range paths {
		ip := indexPath("persist", i)
		if msg := absPathProblem(p, "/var/lib/nomad"); msg != "" {
			v.add(ip, "%s", msg)
			continue
		}
		// The rule cairn-init applies to the persist list: what passes
		// here, it mounts.
		switch r := layout.CheckPersist(p); {
		case r == nil:
		case r.Kind == layout.OnKernelFS:
			v.add(ip, "%s is %s", p, r.Reason())
		case r.Kind == layout.OnBootTmpfs:
			v.add(ip, "%s (persist /var/tmp for files that must survive)", r)
		default:
			v.add(ip, "%s", r)
		}
		seen.seen(v, ip, p, "persisted path")
	}
}

func (v *validator) kernel(s *System) {
	for _, k := range sortedKeys(s.Sysctl) {
		p := keyPath("sysctl", k)
		if !sysctlKey.MatchString(k) {
			v.add(p, "%s is not a kernel parameter name, like net.ipv4.ip_forward", quoted(k))
		}
		if val := s.Sysctl[k]; val == "" || strings.ContainsAny(val, "\n\x00") {
			v.add(p, "give a value on one line, like 1")
		}
	}
	for i, m := range s.Modules {
		if !moduleName.MatchString(m) {
			v.add(indexPath("modules", i), "%s is not a module name: one name per entry, like wireguard or br_netfilter (no options here)", quoted(m))
		}
	}
	k := &s.Kernel
	if k.Package != "" {
		if d, ok := v.dependency("kernel.package", k.Package); ok && d.Conflict {
			v.add("kernel.package", "name the kernel package to install, like linux-lts, without !")
		}
	}
	for i, arg := range k.Cmdline {
		p := indexPath("kernel.cmdline", i)
		switch {
		case arg == "":
			v.add(p, "empty: give one argument, like console=ttyS0")
		case hasSpace(arg):
			v.add(p, "%s contains white space: give one argument per entry, like [console=tty0, quiet]", quoted(arg))
		case strings.HasPrefix(arg, "root=") || strings.HasPrefix(arg, "rootflags="):
			v.add(p, "%s: cairn sets root= and rootflags= for each generation; remove it", arg)
		}
	}
	for i, f := range k.Initramfs.Features {
		if !moduleName.MatchString(f) {
			v.add(indexPath("kernel.initramfs.features", i), "%s is not a feature name, like ata, nvme, usb or virtio", quoted(f))
		}
	}
	for i, m := range k.Initramfs.Modules {
		if !moduleName.MatchString(m) {
			v.add(indexPath("kernel.initramfs.modules", i), "%s is not a module name, like virtio_blk", quoted(m))
		}
	}
}

func (v *validator) files(f *Files) {
	paths := unique{}
	for i, in := range f.Inline {
		p := indexPath("files.inline", i)
		v.absPath(keyPath(p, "path"), in.Path, "/etc/motd")
		if in.Path != "" {
			paths.seen(v, keyPath(p, "path"), in.Path, "file")
		}
		if in.Path == "/" {
			v.add(keyPath(p, "path"), "/ is a directory: name a file")
		}
		v.mode(keyPath(p, "mode"), in.Mode)
		v.owner(keyPath(p, "owner"), in.Owner)
	}
}

func (v *validator) setup(scripts []Script) {
	names := unique{}
	for i, s := range scripts {
		p := indexPath("setup", i)
		switch {
		case s.Name == "":
			v.add(keyPath(p, "name"), "missing: name the script for the build log, like enable-ip-forwarding")
		default:
			names.seen(v, keyPath(p, "name"), s.Name, "script")
		}
		switch {
		case s.Run == "" && s.File == "":
			v.add(p, "give the script as run: (its text) or file: (a path relative to the manifest)")
		case s.Run != "" && s.File != "":
			v.add(keyPath(p, "file"), "give run or file, not both")
		}
		v.optAbsPath(keyPath(p, "shell"), s.Shell, "/bin/sh")
	}
}

// persistedUnder reports whether p lies under /var or one of the
// manifest's persist paths: where a declared file is managed or a seed.
func persistedUnder(s *System, p string) bool {
	for _, d := range append([]string{"/var"}, s.Persist...) {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// state checks a declared file's state: empty, managed or seed, and only
// where it means something.
func (v *validator) state(s *System, key, path, state string) {
	switch state {
	case "":
		return
	case StateManaged, StateSeed:
	default:
		v.add(key, "%s is not a state: managed (put in place at every boot) or seed (written only when absent)", quoted(state))
		return
	}
	if path != "" && !persistedUnder(s, path) {
		v.add(key, "%s is not under /var or a persist path: a file of the generation itself is always the generation's; remove state", path)
	}
}

func (v *validator) states(s *System) {
	for i, in := range s.Files.Inline {
		v.state(s, keyPath(indexPath("files.inline", i), "state"), in.Path, in.State)
	}
	for i, a := range s.Artifacts {
		v.state(s, keyPath(indexPath("artifacts", i), "state"), a.Path, a.State)
	}
	for i, p := range s.Files.Seeds {
		key := indexPath("files.seeds", i)
		if msg := absPathProblem(p, "/var/lib/app/app.conf"); msg != "" {
			v.add(key, "%s", msg)
			continue
		}
		if s.Files.Skeleton == "" {
			v.add(key, "files.seeds names skeleton files, and there is no files.skeleton")
		}
		if !persistedUnder(s, p) {
			v.add(key, "%s is not under /var or a persist path: only files there can be seeds", p)
		}
	}
}

// retentionRule is one rule of btrbk's snapshot_preserve.
var retentionRule = lazy(`^(\*|[1-9][0-9]*)[hdwmy]$`)

func (v *validator) snapshots(s *System) {
	seen := unique{}
	for i, sn := range s.Snapshots {
		p := indexPath("snapshots", i)
		if msg := absPathProblem(sn.Path, "/home"); msg != "" {
			v.add(keyPath(p, "path"), "%s", msg)
		} else {
			if sn.Path != "/var" && !slices.Contains(s.Persist, sn.Path) {
				v.add(keyPath(p, "path"), "%s is not persisted: snapshots are of /var or a path of persist:", sn.Path)
			}
			seen.seen(v, keyPath(p, "path"), sn.Path, "snapshot schedule")
		}
		for _, d := range []struct{ key, val string }{{"every", sn.Every}, {"preserveMin", sn.PreserveMin}} {
			if d.val == "" {
				continue
			}
			if _, err := ParseSpan(d.val); err != nil {
				v.add(keyPath(p, d.key), "%v", err)
			}
		}
		for _, r := range strings.Fields(sn.Preserve) {
			if !retentionRule.MatchString(r) {
				v.add(keyPath(p, "preserve"), "%s is not a retention rule: a count and a unit, like 48h 7d 4w 12m (h, d, w, m, y; * for all)", quoted(r))
			}
		}
	}
}

// ParseSpan reads a duration as snapshot schedules give it: a number and
// a unit, s, m, h, d or w (15m, 6h, 1d, 2w).
func ParseSpan(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if len(s) >= 2 {
		if u, ok := units[s[len(s)-1]]; ok {
			if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && n > 0 {
				return time.Duration(n) * u, nil
			}
		}
	}
	return 0, fmt.Errorf("%s is not a duration: a positive number and a unit, like 15m, 6h, 1d or 2w", quoted(s))
}
