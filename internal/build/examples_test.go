package build

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestBuildExamples builds every example of examples/ that needs no
// internet (its artifacts, if any, are local) against the ISO fixtures:
// the real packages of Alpine 3.19's ISO repository, and for the packages
// the ISO does not have a stand-in made by apktest (holding the init
// scripts of the services the example's runlevels name that no ISO
// package has). Each is checked against its packages first (Check must
// find nothing), then built, and its tree must hold what it declares:
// services enabled in their runlevels, mount points, persisted
// directories, users, cairn-confirm in a bootable system.
func TestBuildExamples(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (package scripts and setup scripts run chrooted)")
	self := filepath.Join(t.TempDir(), "cairn")
	if err := os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	iso := newISO(t)
	examples, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*", "*.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	built := map[string]bool{}
	for _, ex := range examples {
		name := filepath.Base(filepath.Dir(ex)) + "/" + filepath.Base(ex)
		sys, err := manifest.Load(ex)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		offline := true
		for _, a := range sys.Artifacts {
			if strings.HasPrefix(a.URL, "http://") || strings.HasPrefix(a.URL, "https://") {
				offline = false
			}
		}
		if !offline {
			t.Logf("%s: its artifacts are downloads; validated only", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			sys.ApplyDefaults()
			iso.use(t, sys)
			cache := filepath.Join(t.TempDir(), "cache")
			req := Request{Manifest: sys, ManifestPath: ex, CacheDir: cache, Err: io.Discard}
			if res, err := Check(context.Background(), req); err != nil || len(res.Unchecked) > 0 {
				t.Fatalf("check: %v (unchecked: %v)", err, res)
			}
			root := filepath.Join(t.TempDir(), "root")
			var log strings.Builder
			req.Root, req.Out, req.Version, req.Self = root, &log, "test", self
			if _, err := Build(context.Background(), req); err != nil {
				t.Fatalf("build: %v\n%s", err, log.String())
			}
			checkDeclared(t, sys, root)
			for _, f := range exampleFiles[name] {
				if _, err := os.Lstat(filepath.Join(root, f)); err != nil {
					t.Errorf("%s is missing from the tree", f)
				}
			}
			for f, want := range exampleContent[name] {
				data, err := os.ReadFile(filepath.Join(root, f))
				for _, w := range want {
					if err != nil || !strings.Contains(string(data), w) {
						t.Errorf("%s does not hold %q: %v\n%s", f, w, err, data)
					}
				}
			}
		})
		built[name] = true
	}
	for _, want := range []string{"minimal/system.yaml", "homelab/system.yaml", "offline/system.yaml", "offline/bootable.yaml", "nas/system.yaml", "vps/system.yaml", "demo/system.yaml", "multitenant/system.yaml"} {
		if !built[want] {
			t.Errorf("%s was not built offline", want)
		}
	}
}

// exampleFiles are files an example's tree holds that its skeleton or
// setup script make.
var exampleFiles = map[string][]string{
	"nas/system.yaml":       {"usr/local/bin/nas-status", "etc/samba/smb.conf", "etc/smartd.conf", "srv/media"},
	"homelab/system.yaml":   {"etc/periodic/monthly/btrfs-scrub"},
	"offline/system.yaml":   {"etc/cairn-demo"},
	"vps/system.yaml":       {"etc/nftables.nft", "srv/www/index.html"},
	"minimal/system.yaml":   {"etc/apk/world"},
	"offline/bootable.yaml": {"sbin/init", "etc/demo-boot"},
	"multitenant/system.yaml": {"etc/cairn/tenants.json", "etc/init.d/cairn-tenants", "etc/runlevels/boot/cairn-tenants",
		"etc/runlevels/sysinit/cgroups", "etc/runlevels/default/cairn-snapshots", "home/alice", "home/bob"},
}

// exampleContent are lines an example's files hold that what it
// declares implies (tenants: docs/tenants.md).
var exampleContent = map[string]map[string][]string{
	"multitenant/system.yaml": {
		"etc/passwd":                               {"alice:x:", "bob:x:2001:2001::/home/bob:/bin/sh"},
		"etc/cairn/persist":                        {"/home/alice\n", "/home/bob\n"},
		"etc/conf.d/bob-builds":                    {"cpu.max 100000 100000", "memory.max 2147483648", "pids.max 512"},
		"etc/init.d/bob-builds":                    {"command_user=bob"},
		"etc/ssh/sshd_config.d/cairn-tenants.conf": {"Match User alice,bob", "AuthorizedKeysCommand /usr/sbin/cairn tenants ssh-session %u"},
		"etc/cairn/health.json":                    {"/usr/sbin/cairn tenants check"},
	},
}

// checkDeclared checks that the tree at root holds what sys declares.
func checkDeclared(t *testing.T, sys *manifest.System, root string) {
	t.Helper()
	for level, svcs := range sys.Services.Runlevels {
		for _, s := range svcs {
			link := filepath.Join(root, "etc/runlevels", level, s)
			if target, err := os.Readlink(link); err != nil || target != "/etc/init.d/"+s {
				t.Errorf("runlevel %s: %s is %q (%v)", level, s, target, err)
			}
			if fi, err := os.Stat(filepath.Join(root, "etc/init.d", s)); err != nil || fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("/etc/init.d/%s is not an executable script: %v", s, err)
			}
		}
	}
	dirs := slices.Clone(sys.Persist)
	for _, m := range sys.Fstab {
		if strings.HasPrefix(m.Mountpoint, "/") {
			dirs = append(dirs, m.Mountpoint)
		}
	}
	for _, d := range dirs {
		if fi, err := os.Lstat(filepath.Join(root, d)); err != nil || !fi.IsDir() {
			t.Errorf("mount point %s is not a directory in the tree: %v", d, err)
		}
	}
	// A bootable system gets cairn and its confirm service.
	_, err := os.Lstat(filepath.Join(root, "etc/runlevels/default/cairn-confirm"))
	if bootable := sys.Kernel.Package != ""; bootable != (err == nil) || bootable != fileExists(filepath.Join(root, "usr/sbin/cairn")) {
		t.Errorf("kernel %q, but cairn-confirm installed: %v", sys.Kernel.Package, err == nil)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	for _, u := range sys.Users {
		if !strings.Contains(string(passwd), "\n"+u.Name+":") {
			t.Errorf("user %s missing", u.Name)
		}
	}
	if cmdline, err := os.ReadFile(filepath.Join(root, "etc/cairn/cmdline")); err != nil || strings.Join(sys.Kernel.Cmdline, " ") != strings.TrimSpace(string(cmdline)) {
		t.Errorf("/etc/cairn/cmdline %q (%v), want %q", cmdline, err, sys.Kernel.Cmdline)
	}
}

// iso is the ISO fixtures' repository, what its packages provide, and a
// key for stand-in repositories beside it.
type iso struct {
	dir, keys string
	names     map[string]bool // package and provided names
	scripts   map[string]bool // /etc/init.d scripts
}

func newISO(t *testing.T) *iso {
	t.Helper()
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	i := &iso{dir: filepath.Join(fx, "iso"), keys: t.TempDir(), names: map[string]bool{}, scripts: map[string]bool{}}
	copyFiles(t, filepath.Join(fx, "keys"), i.keys)
	d, err := database.Open(context.Background(), database.Options{Repositories: []repo.Repository{{URL: i.dir}}, KeysDir: i.keys, Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range d.DB.Names() {
		if len(n.Providers) > 0 {
			i.names[n.Name] = true
		}
	}
	pkgs, err := filepath.Glob(filepath.Join(i.dir, "x86_64", "*.apk"))
	if err != nil || len(pkgs) == 0 {
		t.Fatalf("no ISO packages: %v", err)
	}
	for _, p := range pkgs {
		files, err := listPackage(p, apkfile.Options{Keys: d.Keys})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, f := range files {
			if name, ok := strings.CutPrefix(f, "etc/init.d/"); ok && name != "" && !strings.Contains(name, "/") {
				i.scripts[name] = true
			}
		}
	}
	return i
}

// use points sys at the ISO's repository and a repository of stand-ins
// for the rest of its packages and init scripts.
func (i *iso) use(t *testing.T, sys *manifest.System) {
	t.Helper()
	r := apktest.NewRepo(t, "")
	scripts := apktest.Pkg("cairn-test-initscripts", "1.0-r0").Depends("openrc")
	own := sys.OwnServices("")
	added := map[string]bool{}
	for _, svcs := range sys.Services.Runlevels {
		for _, s := range svcs {
			if _, ok := own[s]; !ok && !i.scripts[s] && !added[s] {
				scripts.File("etc/init.d/"+s, 0o755, "#!/sbin/openrc-run\n")
				added[s] = true
			}
		}
	}
	needScripts := len(added) > 0
	r.Add(scripts)
	names := systemWorld(sys)
	for _, a := range sys.Artifacts {
		names = append(names, a.Depends...)
	}
	standIns := false
	for _, p := range names {
		d, err := apk.ParseDependency(p)
		if err != nil || i.names[d.Name] || d.Conflict {
			continue
		}
		pkg := apktest.Pkg(d.Name, "999.0-r0").Depends("cairn-test-initscripts", "busybox").File("usr/share/doc/"+d.Name+"/stand-in", 0o644, d.Name+"\n")
		if strings.HasPrefix(d.Name, "linux-") {
			flavor := strings.TrimPrefix(d.Name, "linux-")
			pkg.File("boot/vmlinuz-"+flavor, 0o644, "a stand-in kernel\n")
		}
		r.Add(pkg)
		standIns = true
	}
	if needScripts && !standIns {
		sys.Packages = append(sys.Packages, "cairn-test-initscripts")
	}
	r.Write()
	copyFiles(t, r.KeysDir, i.keys)
	sys.Alpine.Repositories = []manifest.Repository{{URL: i.dir}, {URL: r.URL()}}
	sys.Alpine.Keys = []string{i.keys}
	sys.Alpine.Arch = "x86_64"
}

// standIns makes a repository holding a stand-in for every package the
// manifest names that the real fixtures and busybox do not cover.
func (w *world) standIns(t testing.TB, sys *manifest.System) *apktest.Repo {
	return w.sizedStandIns(t, sys, nil)
}

// sizedStandIns is standIns with stand-ins of a realistic size: each one
// holds size(name) bytes of incompressible data in 48 KiB files.
func (w *world) sizedStandIns(t testing.TB, sys *manifest.System, size func(name string) int64) *apktest.Repo {
	t.Helper()
	real := map[string]bool{"alpine-baselayout-data": true, "alpine-keys": true, "alpine-release": true, "tzdata": true, "busybox": true}
	defined := map[string]bool{}
	for n := range sys.Services.Define {
		defined[n] = true
	}
	r := apktest.NewRepo(t, "")
	// OpenRC's own files as Alpine's openrc package has them.
	scripts := apktest.Pkg("cairn-test-initscripts", "1.0-r0").Dir("etc/init.d", 0o755).
		File("etc/rc.conf", 0o644, "#rc_parallel=\"NO\"\n")
	for _, svcs := range sys.Services.Runlevels {
		for _, s := range svcs {
			if !defined[s] {
				scripts.File("etc/init.d/"+s, 0o755, "#!/sbin/openrc-run\n")
			}
		}
	}
	r.Add(scripts)
	names := systemWorld(sys)
	for _, a := range sys.Artifacts {
		names = append(names, a.Depends...)
	}
	for _, p := range names {
		d, err := apk.ParseDependency(p)
		if err != nil || real[d.Name] || d.Conflict {
			continue
		}
		// A version above the test world's own packages of the same name.
		pkg := apktest.Pkg(d.Name, "999.0-r0").Depends("cairn-test-initscripts", "busybox").File("usr/share/doc/"+d.Name+"/stand-in", 0o644, d.Name+"\n")
		if size != nil {
			rng := rand.New(rand.NewPCG(uint64(len(d.Name)), uint64(d.Name[0])))
			for i, left := 0, size(d.Name); left > 0; i++ {
				n := min(left, 48<<10)
				data := make([]byte, n)
				for j := range data {
					data[j] = byte(rng.Uint32())
				}
				pkg.File(fmt.Sprintf("usr/lib/%s/data/%04d", d.Name, i), 0o644, string(data))
				left -= n
			}
		}
		if d.Name == "alpine-base" {
			pkg.Depends("alpine-baselayout-data", "alpine-release")
		}
		r.Add(pkg)
	}
	r.Write()
	return r
}
