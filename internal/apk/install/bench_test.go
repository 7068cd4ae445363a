//go:build linux

package install

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// benchWorld makes 40 packages of about 600 KiB each (one larger file and
// 30 small ones, half random and half text, compressing about 2:1 like
// real packages) and the changeset that installs them.
func benchWorld(b *testing.B) (*env, *solver.DB, *solver.Changeset, []solver.Dep, int64) {
	e := newEnv(b)
	rng := rand.New(rand.NewPCG(1, 2))
	content := func(n int) []byte {
		buf := make([]byte, n)
		for i := 0; i < n; i += 64 {
			end := min(i+64, n)
			if (i/64)%2 == 0 {
				for j := i; j < end; j++ {
					buf[j] = byte(rng.Uint32())
				}
			} else {
				copy(buf[i:end], "the quick brown fox jumps over the lazy dog 0123456789 abcdefghi")
			}
		}
		return buf
	}
	var total int64
	db := solver.NewDB()
	cs := &solver.Changeset{}
	var world []solver.Dep
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("bench%02d", i)
		s := spec(name, "1.0-r0", dir("usr"), dir("usr/lib"), dir("usr/lib/"+name), dir("usr/share"), dir("usr/share/"+name))
		big := content(300 << 10)
		s.Files = append(s.Files, apkfile.FileSpec{Path: "usr/lib/" + name + "/lib" + name + ".so", Mode: 0o755, Data: big})
		total += int64(len(big))
		for j := 0; j < 30; j++ {
			data := content(10 << 10)
			s.Files = append(s.Files, apkfile.FileSpec{Path: fmt.Sprintf("usr/share/%s/f%02d", name, j), Mode: fs.FileMode(0o644), Data: data})
			total += int64(len(data))
		}
		info := e.add(s)
		p := db.AddPackage(info, solver.RepoFirstConfigured, nil)
		cs.Changes = append(cs.Changes, solver.Change{New: p})
		cs.NumInstall++
		world = append(world, db.ResolveDep(apk.Dependency{Name: name, Mask: apk.DepMaskAny}))
	}
	db.AvailableRepos |= 1 << solver.RepoFirstConfigured
	return e, db, cs, world, total
}

// BenchmarkInstall installs a generated world of 40 packages (about 24 MB
// of files) into an empty root; the MB/s are of installed file contents.
// The root is under $TMPDIR (TMPDIR=/dev/shm measures without the disk).
func BenchmarkInstall(b *testing.B) {
	e, db, cs, world, total := benchWorld(b)
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root, err := os.MkdirTemp("", "cairn-bench-")
		if err != nil {
			b.Fatal(err)
		}
		in := e.installer()
		in.Root = root
		in.NoScripts = true
		b.StartTimer()
		if _, err := in.Install(context.Background(), db, cs, world); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
}
