package cli

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/reexec"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestMain makes this test binary the cairn command as well: testscript
// puts a copy named "cairn" on $PATH, which runs cairnMain. The crash
// tests run it as a real process, which kills itself.
func TestMain(m *testing.M) {
	reexec.Init()
	testscript.Main(m, map[string]func(){"cairn": cairnMain})
}

// cairnMain is cmd/cairn's main.
func cairnMain() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	code := Run(ctx, os.Args[1:], Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// requireRoot: plain stores seal generations with the immutable
// attribute, which needs root.
func requireRoot(t testing.TB) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (sealing a generation sets the immutable attribute)")
}

// fixtureTree is generation i's root tree in test stores: a package
// "base" whose version follows i, a hostname and a kernel command line
// that change with i, a service in the default runlevel for even i.
func fixtureTree(i int) storetest.Tree {
	version := fmt.Sprintf("1.0-r%d", i)
	content := version + "\n"
	tree := storetest.Tree{
		"etc/hostname":                  fmt.Sprintf("gen%d\n", i),
		"etc/os-release":                "ID=cairn-test\n",
		"etc/cairn/cmdline":             fmt.Sprintf("console=ttyS0 gen=%d\n", i),
		"usr/share/base/VERSION":        content,
		"usr/lib/cairn/generation.json": fmt.Sprintf(`{"kernel": "", "packages": [{"name": "base", "version": %q}]}`, version),
		"lib/apk/db/installed": fmt.Sprintf("P:base\nV:%s\nF:usr\nF:usr/share\nF:usr/share/base\nR:VERSION\na:%d:%d:644\nZ:%s\n\n",
			version, os.Getuid(), os.Getgid(), sha1Q1(content)),
		// Bootable: a kernel, and a stand-in for cairn-init (its
		// initramfs is made, never booted, here).
		"boot/vmlinuz-virt":        "kernel image\n",
		"usr/lib/cairn/cairn-init": "cairn-init stand-in\n",
	}
	if i%2 == 0 {
		tree["etc/runlevels/default/even"] = "->/etc/init.d/even"
	}
	return tree
}

// fixtureMeta is generation i's metadata: created i hours after a fixed
// time.
func fixtureMeta(i int) store.Meta {
	return store.Meta{
		Created:     fixtureEpoch.Add(time.Duration(i) * time.Hour),
		Description: fmt.Sprintf("test system %d", i),
		Kernel:      "linux-virt 6.6.58-r0",
		Packages:    []store.Package{{Name: "base", Version: fmt.Sprintf("1.0-r%d", i)}, {Name: "musl", Version: "1.2.4-r2"}},
	}
}

var fixtureEpoch = time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)

// makeStore makes a store in dir and seals n generations (fixtureTree,
// fixtureMeta). The store is left unlocked for the commands under test.
func makeStore(dir string, opts store.InitOptions, n int) (*store.Store, error) {
	s, err := store.Init(dir, opts)
	if err != nil {
		return nil, err
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for i := 1; i <= n; i++ {
		st, err := s.BeginStaging()
		if err != nil {
			return nil, err
		}
		if err := writeTree(st.Dir(), fixtureTree(i)); err != nil {
			return nil, err
		}
		if _, err := st.Seal(fixtureMeta(i)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func writeTree(dir string, tree storetest.Tree) error {
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
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
			return err
		}
	}
	return nil
}

// testStore makes a plain store with n generations in a test directory,
// thawed (made removable) when the test ends.
func testStore(t *testing.T, n int) *store.Store {
	t.Helper()
	requireRoot(t)
	dir := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(dir) })
	s, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setState replaces a test store's state.
func setState(t *testing.T, s *store.Store, change func(store.State) (store.State, error)) {
	t.Helper()
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := s.UpdateState(change); err != nil {
		t.Fatal(err)
	}
}

// stateBytes reads state.json as it is on disk.
func stateBytes(t *testing.T, s *store.Store) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.Dir(), "@cairn", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkIntact fails the test unless every generation in want is present
// with its fixture tree, read-only, and the default exists.
func checkIntact(t *testing.T, s *store.Store, want []int) {
	t.Helper()
	for _, n := range want {
		g, err := s.Get(n)
		if err != nil {
			t.Errorf("generation %d: %v", n, err)
			continue
		}
		storetest.Check(t, g.Path, fixtureTree(n))
		storetest.ReadOnly(t, g.Path)
	}
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if st.Default != 0 {
		if _, err := s.Get(st.Default); err != nil {
			t.Errorf("default %d: %v", st.Default, err)
		}
	}
}

// runStore runs cairn in-process with --store s appended.
func runStore(t *testing.T, s *store.Store, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append(args, "--store", s.Dir())...)
}

// TestScripts runs the command line behaviour scripts in
// testdata/script: each runs the real cairn binary against stores that
// mkstore makes.
func TestScripts(t *testing.T) {
	requireRoot(t)
	alpine := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TZ", "UTC")
			env.Setenv("CAIRN_STORE", "")
			// Real Alpine packages: $ALPINE/iso is a repository, $ALPINE/keys
			// its keys.
			env.Setenv("ALPINE", alpine)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkstore":   cmdMkstore,
			"expand":    cmdExpand,
			"inroot":    cmdInRoot,
			"exits":     cmdExits,
			"lockstore": cmdLockStore,
		},
	})
}

// cmdMkstore is the script command `mkstore DIR N`: a plain store in DIR
// with N generations (fixtureTree, fixtureMeta).
func cmdMkstore(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkstore DIR N")
	}
	var n int
	if _, err := fmt.Sscan(args[1], &n); err != nil {
		ts.Fatalf("mkstore: %v", err)
	}
	dir := ts.MkAbs(args[0])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ts.Fatalf("mkstore: %v", err)
	}
	ts.Defer(func() { storetest.Thaw(dir) })
	_, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, n)
	ts.Check(err)
}

// sha1Q1 is apk's checksum of content: "Q1" and the base64 SHA-1.
func sha1Q1(content string) string {
	sum := sha1.Sum([]byte(content))
	return "Q1" + base64.StdEncoding.EncodeToString(sum[:])
}

// crashCase is a command the crash tests kill at every crash point it
// passes. To add a command, add a case: setup gets a store with
// generations 1-4 sealed (fixtureTree, fixtureMeta) and unlocked, and
// returns the command line without --store.
type crashCase struct {
	name  string
	setup func(t *testing.T, s *store.Store) []string
	// points are the crash points the command passes (in the order it
	// passes them). The test checks that it passes these and no other:
	// at any other point the command must finish.
	points []string
	// mayDelete are the generations the command may delete; every other
	// generation must survive, intact.
	mayDelete []int
	// builds says the command adds generations: after the crash and the
	// command run again, there may be generations above 4, each of
	// which must hold what check says.
	builds bool
	check  func(t *testing.T, g store.Generation)
	// afterCrash, when set, checks the store right after the command was
	// killed (before fsck).
	afterCrash func(t *testing.T, dir string)
}

// permanent makes the generations default one after the other, so that
// all are good and the last one is the default.
func permanent(t *testing.T, s *store.Store, nums ...int) {
	t.Helper()
	for _, n := range nums {
		setState(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(n) })
	}
}

var crashCases = []crashCase{{
	name: "switch",
	setup: func(t *testing.T, s *store.Store) []string {
		permanent(t, s, 1)
		return []string{"switch", "3"}
	},
	points: []string{store.PointStateTemp},
}, {
	name: "switch-permanent",
	setup: func(t *testing.T, s *store.Store) []string {
		permanent(t, s, 1)
		return []string{"switch", "--permanent"}
	},
	points: []string{store.PointStateTemp},
}, {
	name: "rollback",
	setup: func(t *testing.T, s *store.Store) []string {
		permanent(t, s, 1, 2, 3)
		return []string{"rollback"}
	},
	points: []string{store.PointStateTemp},
}, {
	name: "pin",
	setup: func(t *testing.T, s *store.Store) []string {
		return []string{"pin", "2"}
	},
	points: []string{store.PointStateTemp},
}, {
	// Generation 1 goes first (the state does not name it), then 2,
	// which the state lists as good: the state is rewritten first.
	name: "gc",
	setup: func(t *testing.T, s *store.Store) []string {
		permanent(t, s, 2, 3)
		return []string{"gc", "--keep", "1"}
	},
	points:    []string{store.PointDeleteState, store.PointDeleteTree, store.PointStateTemp},
	mayDelete: []int{1, 2},
}, {
	// With boot entries, switch, rollback and gc rewrite them before the
	// state: killed at any point, the entries name only existing files
	// and still boot the default.
	name:       "switch-with-boot-entries",
	setup:      withBootEntries(func(t *testing.T, s *store.Store) []string { permanent(t, s, 1); return []string{"switch", "3"} }),
	points:     []string{boot.PointFilesWritten, boot.PointConfigWritten, store.PointStateTemp},
	afterCrash: checkBootEntries,
}, {
	name:       "rollback-with-boot-entries",
	setup:      withBootEntries(func(t *testing.T, s *store.Store) []string { permanent(t, s, 1, 2, 3); return []string{"rollback"} }),
	points:     []string{boot.PointFilesWritten, boot.PointConfigWritten, store.PointStateTemp},
	afterCrash: checkBootEntries,
}, {
	name: "gc-with-boot-entries",
	setup: withBootEntries(func(t *testing.T, s *store.Store) []string {
		permanent(t, s, 2, 3)
		return []string{"gc", "--keep", "1"}
	}),
	points:     []string{boot.PointFilesWritten, boot.PointConfigWritten, store.PointDeleteState, store.PointDeleteTree, store.PointStateTemp},
	mayDelete:  []int{1, 2},
	afterCrash: checkBootEntries,
}, {
	name:   "build",
	setup:  buildCrashSetup,
	points: []string{store.PointSealMeta, store.PointSealPublished, store.PointSealDone, store.PointStateTemp},
	builds: true,
	check: func(t *testing.T, g store.Generation) {
		if b, err := os.ReadFile(filepath.Join(g.Path, "usr/bin/tool")); err != nil || string(b) != "#!/bin/sh\necho tool\n" {
			t.Errorf("generation %d: usr/bin/tool %q %v", g.Number, b, err)
		}
		storetest.ReadOnly(t, g.Path)
	},
}}

// buildCrashSetup writes a manifest whose packages come from a local
// repository, for cairn build.
func buildCrashSetup(t *testing.T, s *store.Store) []string {
	repo := apktest.NewRepo(t, "")
	repo.Add(apktest.Pkg("tool", "1.0-r0").File("usr/bin/tool", 0o755, "#!/bin/sh\necho tool\n"))
	repo.Write()
	mf := filepath.Join(t.TempDir(), "system.yaml")
	writeFile(t, mf, []byte("apiVersion: cairn/v1\nkind: System\nname: crash\nalpine:\n  arch: x86_64\n  repositories: [{url: "+repo.URL()+"}]\n  keys: ["+repo.KeysDir+"]\npackages: [tool]\n"))
	return []string{"build", "-f", mf, "--cache-dir", filepath.Join(t.TempDir(), "cache")}
}

// TestCrashPoints runs the real cairn binary (this test binary under the
// name cairn, see TestMain) with CAIRN_CRASH_AT naming each crash point,
// for each command of crashCases, on a plain store and on btrfs. Where
// the command passes the point, it must die there by SIGKILL; then cairn
// fsck succeeds, the command run again succeeds, the store is clean, and
// every sealed generation (but those the command deletes) and the
// default are intact and read-only.
func TestCrashPoints(t *testing.T) {
	requireRoot(t)
	cairn := cairnBinary(t)
	backends := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{store.BackendPlain, func(t *testing.T) string {
			dir := t.TempDir()
			t.Cleanup(func() { storetest.Thaw(dir) })
			return dir
		}},
		{store.BackendBtrfs, nil},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			newDir := b.dir
			if newDir == nil {
				mnt := btrfstest.NewFS(t, btrfstest.Options{Size: 256 << 20})
				count := 0
				newDir = func(t *testing.T) string {
					count++
					dir := filepath.Join(mnt, fmt.Sprintf("store%d", count))
					if err := os.Mkdir(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					return dir
				}
			}
			for _, c := range crashCases {
				for _, point := range store.CrashPoints() {
					t.Run(c.name+"/"+point, func(t *testing.T) {
						crashAt(t, cairn, b.name, newDir(t), c, point)
					})
				}
			}
		})
	}
}

func crashAt(t *testing.T, cairn, backend, dir string, c crashCase, point string) {
	s, err := makeStore(dir, store.InitOptions{Backend: backend}, 4)
	if err != nil {
		t.Fatal(err)
	}
	args := append(c.setup(t, s), "--store", dir)

	code, out, signal := cairnExec(t, cairn, []string{crashAtEnv + "=" + point}, args...)
	if c.afterCrash != nil {
		c.afterCrash(t, dir)
	}
	passes := slices.Contains(c.points, point)
	switch {
	case passes && signal != syscall.SIGKILL:
		t.Fatalf("cairn %s with %s=%s: exit %d, signal %v, want killed by SIGKILL\n%s", strings.Join(args, " "), crashAtEnv, point, code, signal, out)
	case !passes && (code != 0 || signal != nil):
		t.Fatalf("cairn %s does not pass %s, but with %s=%s: exit %d, signal %v (is the crash case's list of points right?)\n%s",
			strings.Join(args, " "), point, crashAtEnv, point, code, signal, out)
	}

	if code, out, signal := cairnExec(t, cairn, nil, "fsck", "--no-wait", "--store", dir); code != 0 || signal != nil {
		t.Fatalf("fsck after the crash: exit %d, signal %v\n%s", code, signal, out)
	}
	if code, out, signal := cairnExec(t, cairn, nil, append(args, "--no-wait")...); code != 0 || signal != nil {
		t.Fatalf("cairn %s after the crash and fsck: exit %d, signal %v\n%s", strings.Join(args, " "), code, signal, out)
	}
	code, out, signal = cairnExec(t, cairn, nil, "fsck", "--json", "--no-wait", "--store", dir)
	if code != 0 || signal != nil || !strings.Contains(out, `"problems": []`) {
		t.Errorf("fsck after the command ran again: exit %d, signal %v, want a clean store\n%s", code, signal, out)
	}

	s, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var survivors []int
	for n := 1; n <= 4; n++ {
		if !slices.Contains(c.mayDelete, n) {
			survivors = append(survivors, n)
		} else if _, err := s.Get(n); err == nil {
			survivors = append(survivors, n) // still there: must be whole
		}
	}
	checkIntact(t, s, survivors)
	nums := storetest.Numbers(t, s)
	if c.builds {
		// The build run again added one; the crashed one stays when it
		// was published before the crash.
		var built []int
		for _, n := range nums {
			if n > 4 {
				built = append(built, n)
				g, err := s.Get(n)
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, g)
			}
		}
		if len(built) < 1 || len(built) > 2 {
			t.Errorf("generations %v after a crashed build and one that finished", nums)
		}
		nums = nums[:len(nums)-len(built)]
	}
	if !slices.Equal(nums, survivors) {
		t.Errorf("generations %v, want %v", nums, survivors)
	}
}

// cairnBinary is the cairn command testscript.Main put on $PATH: this
// test binary, which runs cairnMain under that name.
func cairnBinary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("cairn")
	if err != nil || !strings.Contains(path, "testscript-main") {
		t.Fatalf("cairn on $PATH is %q (%v), want the copy of this test binary that TestMain installs", path, err)
	}
	return path
}

// cairnExec runs the cairn binary with env added to the environment (and
// no CAIRN_ variables of the test's own). It returns the exit code, the
// combined output and, when a signal killed it, the signal.
func cairnExec(t testing.TB, cairn string, env []string, args ...string) (int, string, os.Signal) {
	t.Helper()
	cmd := exec.Command(cairn, args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "CAIRN_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, string(out), ws.Signal()
		}
		return ee.ExitCode(), string(out), nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out), nil
}

// notifyWriter collects output and closes first at the first write.
type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func newNotifyWriter() *notifyWriter { return &notifyWriter{first: make(chan struct{})} }

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	w.once.Do(func() { close(w.first) })
	return n, err
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// One writer at a time: with the lock held elsewhere, --no-wait fails at
// once with exit 5 naming the holder; without it, the command says once
// that it waits, and goes on when the lock is released (or stops when
// cancelled).
func TestStoreLock(t *testing.T) {
	s := testStore(t, 3)
	permanent(t, s, 1)
	unlock, err := holdLock(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	before := stateBytes(t, s)

	code, out, errOut := runStore(t, s, "switch", "2", "--no-wait")
	if code != ExitLocked || out != "" {
		t.Errorf("switch --no-wait on a locked store: exit %d, output %q; want %d and none", code, out, ExitLocked)
	}
	wantMsg := fmt.Sprintf("cairn: %s: store is locked by another cairn (pid %d): --no-wait was given; try again when it is done\n", s.Dir(), os.Getpid())
	if errOut != wantMsg {
		t.Errorf("stderr %q, want %q", errOut, wantMsg)
	}
	for _, args := range [][]string{{"gc", "--keep", "1", "--no-wait"}, {"fsck", "--no-wait"}, {"rollback", "--no-wait"}, {"pin", "1", "--no-wait"}} {
		if code, _, _ := runStore(t, s, args...); code != ExitLocked {
			t.Errorf("%v on a locked store: exit %d, want %d", args, code, ExitLocked)
		}
	}
	// Readers need no lock.
	if code, _, errOut := runStore(t, s, "generations"); code != 0 {
		t.Errorf("generations on a locked store: exit %d: %s", code, errOut)
	}

	// Cancelled while waiting.
	ctx, cancel := context.WithCancel(context.Background())
	stderr := newNotifyWriter()
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"switch", "2", "--store", s.Dir()}, Stdio{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr})
	}()
	<-stderr.first
	cancel()
	if code := <-done; code != ExitCancelled {
		t.Errorf("switch cancelled while waiting for the lock: exit %d, want %d\n%s", code, ExitCancelled, stderr)
	}
	if got := stateBytes(t, s); !bytes.Equal(got, before) {
		t.Errorf("state changed while locked:\n%s\nwas\n%s", got, before)
	}

	// Waiting, then going on.
	stderr = newNotifyWriter()
	var stdout bytes.Buffer
	go func() {
		done <- Run(context.Background(), []string{"switch", "2", "--store", s.Dir()}, Stdio{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: stderr})
	}()
	<-stderr.first
	unlock()
	if code := <-done; code != 0 {
		t.Fatalf("switch after waiting: exit %d\n%s", code, stderr)
	}
	if want := fmt.Sprintf("cairn: waiting for the store lock held by pid %d\n", os.Getpid()); stderr.String() != want {
		t.Errorf("stderr %q, want %q once", stderr.String(), want)
	}
	if st, _ := s.State(); st.Trial.Generation != 2 {
		t.Errorf("state after waiting: %+v, want trial 2", st)
	}
}

// A directory that is not a store, or none: one message, exit 1, nothing
// made in it.
func TestNotAStore(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(empty, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"switch", "--store", empty}, empty + " is not a cairn store: it has no @cairn/store.json (--store names the directory holding @cairn)"},
		{[]string{"gc", "--keep", "2", "--store", empty}, empty + " is not a cairn store"},
		{[]string{"fsck", "--store", empty}, empty + " is not a cairn store"},
		{[]string{"generations", "--store", filepath.Join(empty, "nowhere")}, "store " + filepath.Join(empty, "nowhere") + ": no such directory"},
		{[]string{"rollback", "--store", file}, "store " + file + ": not a directory"},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != ExitFailure || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.msg) {
			t.Errorf("cairn %v: exit %d, stdout %q, stderr %q; want exit 1 and one line with %q", tc.args, code, out, errOut, tc.msg)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 1 {
		t.Errorf("something was made in the directory: %v", entries)
	}
}

// withBootEntries gives the store boot entries (extlinux, in DIR/boot)
// before the command's own setup.
func withBootEntries(setup func(t *testing.T, s *store.Store) []string) func(t *testing.T, s *store.Store) []string {
	return func(t *testing.T, s *store.Store) []string {
		args := setup(t, s)
		bootDir := filepath.Join(s.Dir(), "boot")
		if err := os.Mkdir(bootDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if code, out, sig := cairnExec(t, cairnBinary(t), nil, "boot", "setup", "--store", s.Dir(), "--boot-dir", bootDir,
			"--loader", "extlinux", "--root", "LABEL=cairn"); code != 0 || sig != nil {
			t.Fatalf("boot setup: exit %d %v\n%s", code, sig, out)
		}
		checkBootEntries(t, s.Dir())
		return args
	}
}

// checkBootEntries checks the extlinux configuration of the store in dir:
// every kernel and initramfs it names exists, its default entry exists,
// and there is an entry for the default generation of the state on disk.
func checkBootEntries(t *testing.T, dir string) {
	t.Helper()
	bootDir := filepath.Join(dir, "boot")
	data, err := os.ReadFile(filepath.Join(bootDir, "extlinux", "extlinux.conf"))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	def := ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "DEFAULT":
			def = f[1]
		case len(f) == 2 && f[0] == "LABEL":
			labels[f[1]] = true
		case len(f) == 2 && (f[0] == "LINUX" || f[0] == "INITRD"):
			if _, err := os.Stat(filepath.Join(bootDir, f[1])); err != nil {
				t.Errorf("extlinux.conf names %s, which is missing", f[1])
			}
		}
	}
	if !labels[def] {
		t.Errorf("extlinux.conf's DEFAULT %q has no entry:\n%s", def, data)
	}
	var st store.State
	if b, err := os.ReadFile(filepath.Join(dir, "@cairn", "state.json")); err == nil {
		json.Unmarshal(b, &st)
	}
	if st.Default != 0 && !labels[fmt.Sprintf("cairn-%d", st.Default)] {
		t.Errorf("no entry for the default generation %d:\n%s", st.Default, data)
	}
}
