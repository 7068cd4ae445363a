package build

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestBuildExamples builds every example of examples/ that needs no
// internet (its artifacts, if any, are local) against local repositories:
// Alpine's real data packages where the example names them, and for every
// other package a stand-in made by apktest (the package holds the init
// scripts of the services the example's runlevels name, and busybox is
// Debian's static busybox, so setup scripts really run).
func TestBuildExamples(t *testing.T) {
	self := filepath.Join(t.TempDir(), "cairn")
	if err := os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	examples, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*", "*.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	built := 0
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
			stand := w.standIns(t, sys)
			sys.Alpine.Repositories = []manifest.Repository{{URL: w.real}, {URL: stand.URL()}, {URL: w.synth}}
			sys.Alpine.Keys = []string{w.keys}
			root := filepath.Join(t.TempDir(), "root")
			_, err := Build(context.Background(), Request{
				Manifest: sys, ManifestPath: ex, Root: root,
				CacheDir: filepath.Join(t.TempDir(), "cache"), Out: io.Discard, Err: io.Discard, Version: "test",
				Self: self,
			})
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			for level, svcs := range sys.Services.Runlevels {
				for _, s := range svcs {
					if _, err := os.Lstat(filepath.Join(root, "etc/runlevels", level, s)); err != nil {
						t.Errorf("runlevel %s lacks %s", level, s)
					}
				}
			}
			// A bootable system gets cairn and its confirm service.
			_, err = os.Lstat(filepath.Join(root, "etc/runlevels/default/cairn-confirm"))
			if bootable := sys.Kernel.Package != ""; bootable != (err == nil) || bootable != fileExists(filepath.Join(root, "usr/sbin/cairn")) {
				t.Errorf("kernel %q, but cairn-confirm installed: %v", sys.Kernel.Package, err == nil)
			}
			for _, u := range sys.Users {
				if b, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); !strings.Contains(string(b), "\n"+u.Name+":") {
					t.Errorf("user %s missing", u.Name)
				}
			}
		})
		built++
	}
	if built < 3 {
		t.Errorf("only %d examples were built offline; expected minimal, homelab and offline at least", built)
	}
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
