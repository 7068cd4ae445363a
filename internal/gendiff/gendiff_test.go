package gendiff

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// files is a tree by slash path: content, "->target" for a symbolic
// link, a path ending in "/" for a directory.
type files map[string]string

// pkg is an installed package: its files (path -> content) go into the
// tree and into lib/apk/db/installed with their checksums.
type pkg struct {
	name, version string
	identity      string // C: checksum seed, "" for none
	files         files
}

func q1(s string) string {
	sum := sha1.Sum([]byte(s))
	return "Q1" + base64.StdEncoding.EncodeToString(sum[:])
}

// installedDB renders apk's installed database for pkgs, owned by the
// test's user (the owner its files get).
func installedDB(pkgs ...pkg) string {
	var b strings.Builder
	acl := func(mode string) string { return fmt.Sprintf("%d:%d:%s", os.Getuid(), os.Getgid(), mode) }
	for _, p := range pkgs {
		fmt.Fprintf(&b, "P:%s\nV:%s\n", p.name, p.version)
		if p.identity != "" {
			fmt.Fprintf(&b, "C:%s\n", q1(p.identity))
		}
		byDir := map[string][]string{}
		for path := range p.files {
			dir, name := filepath.Split(path)
			dir = strings.TrimSuffix(dir, "/")
			byDir[dir] = append(byDir[dir], name)
			for d := filepath.Dir(dir); d != "." && d != "/"; d = filepath.Dir(d) {
				if _, ok := byDir[d]; !ok {
					byDir[d] = nil
				}
			}
		}
		dirs := make([]string, 0, len(byDir))
		for d := range byDir {
			dirs = append(dirs, d)
		}
		sort.Strings(dirs)
		for _, d := range dirs {
			fmt.Fprintf(&b, "F:%s\nM:%s\n", d, acl("755"))
			names := byDir[d]
			sort.Strings(names)
			for _, n := range names {
				content := p.files[d+"/"+n]
				fmt.Fprintf(&b, "R:%s\n", n)
				if target, ok := strings.CutPrefix(content, "->"); ok {
					fmt.Fprintf(&b, "a:%s\nZ:%s\n", acl("777"), q1(target))
				} else {
					fmt.Fprintf(&b, "a:%s\nZ:%s\n", acl("644"), q1(content))
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// system makes a tree: the packages' files and database, then extra.
func system(pkgs []pkg, extra files) files {
	out := files{}
	for _, p := range pkgs {
		for path, c := range p.files {
			out[path] = c
		}
	}
	if len(pkgs) > 0 {
		out["lib/apk/db/installed"] = installedDB(pkgs...)
	}
	for path, c := range extra {
		out[path] = c
	}
	return out
}

func write(t *testing.T, tree files) string {
	t.Helper()
	root := t.TempDir()
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		c := tree[p]
		var err error
		switch {
		case strings.HasSuffix(p, "/"):
			err = os.MkdirAll(full, 0o755)
		case strings.HasPrefix(c, "->"):
			err = os.Symlink(strings.TrimPrefix(c, "->"), full)
		default:
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var (
	baselayout = pkg{name: "alpine-baselayout-data", version: "3.4.3-r2", files: files{
		"etc/hostname": "localhost\n", "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/fstab": "",
	}}
	busybox1 = pkg{name: "busybox", version: "1.36.1-r15", files: files{"bin/busybox": "busybox 1.36.1-r15", "bin/sh": "->/bin/busybox"}}
	busybox2 = pkg{name: "busybox", version: "1.36.1-r19", files: files{"bin/busybox": "busybox 1.36.1-r19", "bin/sh": "->/bin/busybox"}}
)

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b files
		// adjust changes trees after they are written (modes and such).
		adjust func(t *testing.T, a, b string)
		want   Diff
	}{{
		name: "identical",
		a:    system([]pkg{baselayout, busybox1}, files{"etc/motd": "hi\n"}),
		b:    system([]pkg{baselayout, busybox1}, files{"etc/motd": "hi\n"}),
	}, {
		name: "packages",
		a: system([]pkg{baselayout, busybox2,
			{name: "curl", version: "8.5.0-r0", files: files{"usr/bin/curl": "curl 8.5"}},
			{name: "old", version: "1.0-r0", files: files{"usr/bin/old": "old"}},
			{name: "same", version: "2.0-r0", identity: "one", files: files{"usr/bin/same": "one"}},
			{name: "unchanged", version: "1-r0", identity: "u", files: files{"usr/bin/unchanged": "u"}},
		}, nil),
		b: system([]pkg{baselayout, busybox1,
			{name: "curl", version: "8.6.0-r0", files: files{"usr/bin/curl": "curl 8.6"}},
			{name: "nginx", version: "1.24.0-r15", files: files{"usr/sbin/nginx": "nginx", "etc/nginx/nginx.conf": "conf"}},
			{name: "same", version: "2.0-r0", identity: "two", files: files{"usr/bin/same": "two"}},
			{name: "unchanged", version: "1-r0", identity: "u", files: files{"usr/bin/unchanged": "u"}},
		}, nil),
		want: Diff{Packages: []PackageChange{
			{Name: "busybox", Change: Downgraded, Old: "1.36.1-r19", New: "1.36.1-r15"},
			{Name: "curl", Change: Upgraded, Old: "8.5.0-r0", New: "8.6.0-r0"},
			{Name: "nginx", Change: Added, New: "1.24.0-r15"},
			{Name: "old", Change: Removed, Old: "1.0-r0"},
			{Name: "same", Change: Rebuilt, Old: "2.0-r0", New: "2.0-r0"},
		}},
	}, {
		name: "package file edited after installation",
		a:    system([]pkg{baselayout}, nil),
		b:    system([]pkg{baselayout}, files{"etc/hostname": "node1\n"}),
		want: Diff{Files: []FileChange{{
			Path: "etc/hostname", Change: Changed, What: []string{"content"}, Package: "alpine-baselayout-data",
			Old: fileInfo("file", "0644", 10), New: fileInfo("file", "0644", 6),
		}}},
	}, {
		name: "a new package's file replaced by the manifest",
		a:    system([]pkg{baselayout}, nil),
		b: system([]pkg{baselayout, {name: "nginx", version: "1.24.0-r15", files: files{"etc/nginx/nginx.conf": "package\n"}}},
			files{"etc/nginx/nginx.conf": "mine\n"}),
		want: Diff{
			Packages: []PackageChange{{Name: "nginx", Change: Added, New: "1.24.0-r15"}},
			Files:    []FileChange{{Path: "etc/nginx/nginx.conf", Change: Added, Package: "nginx", New: fileInfo("file", "0644", 5)}},
		},
	}, {
		name: "files outside packages",
		a: system([]pkg{baselayout}, files{
			"etc/motd": "hello\n", "etc/gone": "x", "etc/link": "->a", "etc/kind": "file", "etc/same": "0123456789",
			"usr/local/bin/tool": "#!/bin/sh\n",
		}),
		b: system([]pkg{baselayout}, files{
			"etc/motd": "hello!\n", "etc/new/": "", "etc/new/file": "n", "etc/link": "->b", "etc/kind/": "", "etc/same": "0123456789",
			"usr/local/bin/tool": "#!/bin/sh\n",
		}),
		adjust: func(t *testing.T, a, b string) {
			if err := os.Chmod(filepath.Join(b, "usr/local/bin/tool"), os.ModeSetuid|0o755); err != nil {
				t.Fatal(err)
			}
		},
		want: Diff{Files: []FileChange{
			{Path: "etc/gone", Change: Removed, Old: fileInfo("file", "0644", 1)},
			{Path: "etc/kind", Change: Changed, What: []string{"type", "mode"}, Old: fileInfo("file", "0644", 4), New: fileInfo("dir", "0755", 0)},
			{Path: "etc/link", Change: Changed, What: []string{"target"}, Old: linkInfo("a"), New: linkInfo("b")},
			{Path: "etc/motd", Change: Changed, What: []string{"content"}, Old: fileInfo("file", "0644", 6), New: fileInfo("file", "0644", 7)},
			{Path: "etc/new", Change: Added, New: fileInfo("dir", "0755", 0)},
			{Path: "etc/new/file", Change: Added, New: fileInfo("file", "0644", 1)},
			{Path: "usr/local/bin/tool", Change: Changed, What: []string{"mode"}, Old: fileInfo("file", "0644", 10), New: fileInfo("file", "4755", 10)},
		}},
	}, {
		name: "hard links and equal copies are equal",
		a:    files{"etc/a": "same content", "etc/b": "other"},
		b:    files{"etc/b": "other"},
		adjust: func(t *testing.T, a, b string) {
			// b/etc/a is a hard link of a/etc/a: one inode.
			if err := os.Link(filepath.Join(a, "etc/a"), filepath.Join(b, "etc/a")); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		name: "apk and cairn records are not file changes",
		a: system([]pkg{baselayout}, files{
			"etc/apk/world": "alpine-baselayout-data\n", "usr/lib/cairn/generation.json": `{"kernel":""}`,
			"lib/apk/db/scripts.tar": "a", "lib/apk/db/triggers": "",
		}),
		b: system([]pkg{baselayout}, files{
			"etc/apk/world": "alpine-baselayout-data\nnginx\n", "usr/lib/cairn/generation.json": `{"kernel":"","buildTime":"x"}`,
			"lib/apk/db/scripts.tar": "b", "lib/apk/db/lock": "",
		}),
	}, {
		name: "services",
		a: files{
			"etc/init.d/sshd": "#!/sbin/openrc-run\n", "etc/init.d/crond": "#!/sbin/openrc-run\n",
			"etc/runlevels/default/sshd": "->/etc/init.d/sshd", "etc/runlevels/default/crond": "->/etc/init.d/crond",
			"etc/runlevels/boot/hostname": "->/etc/init.d/hostname", "etc/runlevels/shutdown/": "",
		},
		b: files{
			"etc/init.d/sshd": "#!/sbin/openrc-run\n", "etc/init.d/crond": "#!/sbin/openrc-run\n",
			"etc/runlevels/default/sshd": "->/etc/init.d/sshd", "etc/runlevels/default/nginx": "->/etc/init.d/nginx",
			"etc/runlevels/boot/hostname": "->/etc/init.d/hostname2", "etc/runlevels/sysinit/devfs": "->/etc/init.d/devfs",
			"etc/runlevels/shutdown/": "",
		},
		want: Diff{Services: []ServiceChange{
			{Runlevel: "sysinit", Service: "devfs", Change: Added, New: "/etc/init.d/devfs"},
			{Runlevel: "boot", Service: "hostname", Change: Changed, Old: "/etc/init.d/hostname", New: "/etc/init.d/hostname2"},
			{Runlevel: "default", Service: "crond", Change: Removed, Old: "/etc/init.d/crond"},
			{Runlevel: "default", Service: "nginx", Change: Added, New: "/etc/init.d/nginx"},
		}},
	}, {
		name: "users and groups",
		a: files{
			"etc/passwd": "root:x:0:0:root:/root:/bin/ash\nalice:x:1000:1000:Alice:/home/alice:/bin/ash\nbob:x:1001:1001::/home/bob:/bin/ash\n",
			"etc/group":  "root:x:0:root\nwheel:x:10:root\nbob:x:1001:\n",
		},
		b: files{
			"etc/passwd": "# users\nroot:x:0:0:root:/root:/bin/ash\nalice:x:1000:1000:Alice A.:/home/alice:/bin/bash\nnginx:x:100:101:nginx:/var/lib/nginx:/sbin/nologin\n",
			"etc/group":  "root:x:0:root\nwheel:x:10:root,alice\nnginx:x:101:nginx\n",
		},
		want: Diff{
			Users: []UserChange{
				{Name: "alice", Change: Changed, Fields: []string{"comment", "shell"},
					Old: &User{Name: "alice", UID: "1000", GID: "1000", Comment: "Alice", Home: "/home/alice", Shell: "/bin/ash"},
					New: &User{Name: "alice", UID: "1000", GID: "1000", Comment: "Alice A.", Home: "/home/alice", Shell: "/bin/bash"}},
				{Name: "bob", Change: Removed, Old: &User{Name: "bob", UID: "1001", GID: "1001", Home: "/home/bob", Shell: "/bin/ash"}},
				{Name: "nginx", Change: Added, New: &User{Name: "nginx", UID: "100", GID: "101", Comment: "nginx", Home: "/var/lib/nginx", Shell: "/sbin/nologin"}},
			},
			Groups: []GroupChange{
				{Name: "bob", Change: Removed, Old: &Group{Name: "bob", GID: "1001", Members: []string{}}},
				{Name: "nginx", Change: Added, New: &Group{Name: "nginx", GID: "101", Members: []string{"nginx"}}},
				{Name: "wheel", Change: Changed, Fields: []string{"members"},
					Old: &Group{Name: "wheel", GID: "10", Members: []string{"root"}},
					New: &Group{Name: "wheel", GID: "10", Members: []string{"root", "alice"}}},
			},
		},
	}, {
		name: "account files are found through links inside the tree",
		// An absolute link points into the tree, not at the host's
		// files; ".." stops at the tree's root.
		a: files{"etc/passwd": "->/usr/share/cairn-test/passwd", "usr/share/cairn-test/passwd": "root:x:0:0:root:/root:/bin/ash\n"},
		b: files{"etc/passwd": "->../../../usr/share/cairn-test/passwd", "usr/share/cairn-test/passwd": "root:x:0:0:root:/root:/bin/ash\n"},
	}, {
		name: "mounts",
		a: files{"etc/fstab": "# static\nLABEL=root / btrfs ro 0 0\nLABEL=data  /srv  btrfs  subvol=@srv  0 0\n" +
			"/dev/sdb1 /mnt ext4 defaults 0 2\n/dev/sda2 none swap sw 0 0\n"},
		b: files{"etc/fstab": "LABEL=root / btrfs ro 0 0\nLABEL=data /srv btrfs subvol=@srv,compress=zstd 0 0\n" +
			"LABEL=data /var/log btrfs subvol=@log 0 0\n/dev/sda3 none swap sw 0 0\n"},
		want: Diff{Mounts: []MountChange{
			{Mountpoint: "/mnt", Change: Removed, Old: "/dev/sdb1 /mnt ext4 defaults 0 2"},
			{Mountpoint: "/srv", Change: Changed, Old: "LABEL=data /srv btrfs subvol=@srv 0 0", New: "LABEL=data /srv btrfs subvol=@srv,compress=zstd 0 0"},
			{Mountpoint: "/var/log", Change: Added, New: "LABEL=data /var/log btrfs subvol=@log 0 0"},
			{Mountpoint: "none", Change: Removed, Old: "/dev/sda2 none swap sw 0 0"},
			{Mountpoint: "none", Change: Added, New: "/dev/sda3 none swap sw 0 0"},
		}},
	}, {
		name: "kernel and command line",
		a: system([]pkg{{name: "linux-virt", version: "6.6.58-r0", files: files{"boot/vmlinuz-virt": "k1"}}}, files{
			"usr/lib/cairn/generation.json": `{"kernel": "linux-virt"}`, "etc/cairn/cmdline": "console=ttyS0\n",
		}),
		b: system([]pkg{{name: "linux-virt", version: "6.6.60-r0", files: files{"boot/vmlinuz-virt": "k2"}}}, files{
			"usr/lib/cairn/generation.json": `{"kernel": "linux-virt"}`, "etc/cairn/cmdline": "console=ttyS0 quiet\n",
		}),
		want: Diff{
			Packages: []PackageChange{{Name: "linux-virt", Change: Upgraded, Old: "6.6.58-r0", New: "6.6.60-r0"}},
			Kernel:   &Change{Old: "linux-virt 6.6.58-r0", New: "linux-virt 6.6.60-r0"},
			Cmdline:  &Change{Old: "console=ttyS0", New: "console=ttyS0 quiet"},
		},
	}, {
		name: "packages from the generation record when apk's database is missing",
		a:    files{"usr/lib/cairn/generation.json": `{"packages": [{"name": "musl", "version": "1.2.4-r2"}]}`},
		b:    files{"usr/lib/cairn/generation.json": `{"packages": [{"name": "musl", "version": "1.2.4_git20230717-r4"}]}`},
		want: Diff{Packages: []PackageChange{{Name: "musl", Change: Upgraded, Old: "1.2.4-r2", New: "1.2.4_git20230717-r4"}}},
	}, {
		name: "manifest",
		a: files{
			"usr/lib/cairn/manifest/system.yaml":      "apiVersion: cairn/v1\nkind: System\ninclude: [base/common.yaml]\nhostname: node-1\ntimezone: UTC\npackages: [openssh]\n",
			"usr/lib/cairn/manifest/base/common.yaml": "apiVersion: cairn/v1\nkind: System\n",
			"usr/lib/cairn/manifest/cairn.lock":       "lockVersion: 1\n",
		},
		b: files{
			"usr/lib/cairn/manifest/system.yaml":     "apiVersion: cairn/v1\nkind: System\ninclude: [base/common.yaml]\nhostname: node-1\ntimezone: Europe/Berlin\npackages: [openssh]\n",
			"usr/lib/cairn/manifest/cairn.lock":      "lockVersion: 1\n# other\n",
			"usr/lib/cairn/manifest/monitoring.yaml": "kind: System\n",
		},
		want: Diff{Manifest: []ManifestChange{
			{Path: "base/common.yaml", Change: Removed, Lines: []string{"@@ -1,2 +0,0 @@", "-apiVersion: cairn/v1", "-kind: System"}},
			{Path: "cairn.lock", Change: Changed},
			{Path: "monitoring.yaml", Change: Added, Lines: []string{"@@ -0,0 +1 @@", "+kind: System"}},
			{Path: "system.yaml", Change: Changed, Lines: []string{"@@ -3,4 +3,4 @@", " include: [base/common.yaml]", " hostname: node-1", "-timezone: UTC", "+timezone: Europe/Berlin", " packages: [openssh]"}},
		}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := write(t, tc.a), write(t, tc.b)
			if tc.adjust != nil {
				tc.adjust(t, a, b)
			}
			got, err := Compare(a, b)
			if err != nil {
				t.Fatal(err)
			}
			want := normal(tc.want)
			if !reflect.DeepEqual(*got, want) {
				gj, _ := json.MarshalIndent(got, "", "  ")
				wj, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("diff:\n%s\nwant:\n%s", gj, wj)
			}
			if got.Empty() != (got.Text() == "") {
				t.Errorf("Empty() = %v, but Text() = %q", got.Empty(), got.Text())
			}
		})
	}
}

// normal gives a wanted diff the empty lists Compare returns.
func normal(d Diff) Diff {
	if d.Manifest == nil {
		d.Manifest = []ManifestChange{}
	}
	if d.Packages == nil {
		d.Packages = []PackageChange{}
	}
	if d.Services == nil {
		d.Services = []ServiceChange{}
	}
	if d.Users == nil {
		d.Users = []UserChange{}
	}
	if d.Groups == nil {
		d.Groups = []GroupChange{}
	}
	if d.Mounts == nil {
		d.Mounts = []MountChange{}
	}
	if d.Files == nil {
		d.Files = []FileChange{}
	}
	return d
}

func fileInfo(typ, mode string, size int64) *FileInfo {
	return &FileInfo{Type: typ, Mode: mode, UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Size: size}
}

func linkInfo(target string) *FileInfo {
	return &FileInfo{Type: "symlink", Mode: "0777", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Target: target}
}

// TestText renders one diff with a change of every kind, and its JSON,
// against golden files (go test -update rewrites them).
func TestText(t *testing.T) {
	a := write(t, system([]pkg{baselayout, busybox1,
		{name: "old", version: "1.0-r0", files: files{"usr/bin/old": "old"}},
		{name: "linux-virt", version: "6.6.58-r0", files: files{"boot/vmlinuz-virt": "k1"}},
	}, files{
		"usr/lib/cairn/generation.json": `{"kernel": "linux-virt"}`, "etc/cairn/cmdline": "console=ttyS0\n",
		"etc/runlevels/default/crond": "->/etc/init.d/crond",
		"etc/passwd":                  "root:x:0:0:root:/root:/bin/ash\nalice:x:1000:1000:Alice:/home/alice:/bin/ash\n",
		"etc/group":                   "root:x:0:root\nwheel:x:10:root\n",
		"etc/fstab":                   "LABEL=data /srv btrfs subvol=@srv 0 0\n/dev/sdb1 /mnt ext4 defaults 0 2\n",
		"etc/motd":                    "hello\n", "etc/old.conf": "x", "etc/localtime": "->/usr/share/zoneinfo/UTC",
	}))
	b := write(t, system([]pkg{baselayout, busybox2,
		{name: "nginx", version: "1.24.0-r15", files: files{"usr/sbin/nginx": "nginx"}},
		{name: "linux-virt", version: "6.6.60-r0", files: files{"boot/vmlinuz-virt": "k2"}},
	}, files{
		"usr/lib/cairn/generation.json": `{"kernel": "linux-virt"}`, "etc/cairn/cmdline": "console=ttyS0 quiet\n",
		"etc/runlevels/default/nginx": "->/etc/init.d/nginx",
		"etc/passwd":                  "root:x:0:0:root:/root:/bin/ash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\nnginx:x:100:101:nginx:/var/lib/nginx:/sbin/nologin\n",
		"etc/group":                   "root:x:0:root\nwheel:x:10:root,alice\nnginx:x:101:nginx\n",
		"etc/fstab":                   "LABEL=data /srv btrfs subvol=@srv,noatime 0 0\nLABEL=data /var/log btrfs subvol=@log 0 0\n",
		"etc/motd":                    "hello, nginx\n", "etc/nginx/": "", "etc/nginx/site.conf": "server {}\n",
		"etc/hostname": "node1\n", "etc/localtime": "->/usr/share/zoneinfo/Europe/Berlin",
	}))
	d, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/text.golden", []byte(d.Text()))
	// The JSON holds the owner, which is the test's user: blank it.
	for _, f := range d.Files {
		for _, fi := range []*FileInfo{f.Old, f.New} {
			if fi != nil {
				fi.UID, fi.GID = 0, 0
			}
		}
	}
	j, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/diff.json.golden", append(j, '\n'))
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Compare(filepath.Join(dir, "missing"), dir); err == nil {
		t.Error("missing tree: no error")
	}
	bad := write(t, files{"lib/apk/db/installed": "P:x\n\n"})
	_, err := Compare(bad, dir)
	if err == nil || !strings.Contains(err.Error(), "lib/apk/db/installed") {
		t.Errorf("broken installed database: %v, want an error naming the file", err)
	}
}

// Ignored is part of the documented behaviour: every entry says why.
func TestIgnoredDocumented(t *testing.T) {
	for _, ig := range Ignored {
		if ig.Why == "" || ig.Path == "" {
			t.Errorf("Ignored entry %+v lacks a path or a reason", ig)
		}
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"lib/apk/db", true}, {"lib/apk/db/installed", true}, {"lib/apk/dbx", false},
		{"etc/runlevels", true}, {"etc/runlevels/default/sshd", true}, {"etc/passwd", true},
		{"etc/passwd-", false}, {"etc/shadow", false}, {"etc/apk/world", true}, {"etc/apk/keys", false},
	} {
		if got := ignored(tc.path); got != tc.want {
			t.Errorf("ignored(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// unifiedDiff writes what diff -u writes (GNU diffutils, checked by hand
// for each case), without the file header.
func TestUnifiedDiff(t *testing.T) {
	lines := func(s string) []string { return splitLines(s) }
	for _, tc := range []struct {
		name string
		a, b string
		want []string
	}{
		{"same", "a\nb\n", "a\nb\n", nil},
		{"one changed in the middle", "1\n2\n3\n4\n5\n6\n7\n", "1\n2\n3\nX\n5\n6\n7\n",
			[]string{"@@ -2,5 +2,5 @@", " 2", " 3", "-4", "+X", " 5", " 6"}},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "X\n2\n3\n4\n5\n6\n7\n8\n9\nY\n",
			[]string{"@@ -1,3 +1,3 @@", "-1", "+X", " 2", " 3", "@@ -8,3 +8,3 @@", " 8", " 9", "-10", "+Y"}},
		{"hunks merged", "1\n2\n3\n4\n5\n", "X\n2\n3\n4\nY\n",
			[]string{"@@ -1,5 +1,5 @@", "-1", "+X", " 2", " 3", " 4", "-5", "+Y"}},
		{"added at the end", "a\n", "a\nb\n", []string{"@@ -1 +1,2 @@", " a", "+b"}},
		{"from nothing", "", "a\nb\n", []string{"@@ -0,0 +1,2 @@", "+a", "+b"}},
	} {
		if got := unifiedDiff(lines(tc.a), lines(tc.b), 2); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
