package apktest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

func samplePackages() []*Package {
	return []*Package{
		Pkg("musl", "1.2.4_git20230717-r4").
			ProvidesSO("libc.musl-x86_64.so.1").
			File("lib/ld-musl-x86_64.so.1", 0o755, "\x7fELF musl").
			Symlink("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
		Pkg("busybox", "1.36.1-r15").
			DependsSO("libc.musl-x86_64.so.1").
			ProvidesCmd("sh", "ls").
			Provides("/bin/sh").
			File("bin/busybox", 0o755, "\x7fELF busybox").
			HardLink("bin/bb", "bin/busybox").
			Symlink("bin/sh", "/bin/busybox").
			Script("post-install", "#!/bin/busybox sh\n/bin/busybox --install -s\n").
			Trigger("#!/bin/sh\n/bin/busybox --install -s\n", "/bin", "/usr/bin"),
		Pkg("alpine-baselayout-data", "3.4.3-r2").
			Arch("noarch").
			Origin("alpine-baselayout").
			Replaces("alpine-baselayout").
			ReplacesPriority(10).
			Dir("tmp", 0o1777).
			File("etc/hostname", 0o644, "localhost\n"),
		Pkg("openssh-server-pam", "9.6_p1-r0").
			Provides("openssh-server=9.6_p1-r0").
			ProviderPriority(10).
			Conflicts("openssh-server-krb5").
			DependsCmd("sh"),
		Pkg("busybox-doc", "1.36.1-r15").
			Arch("noarch").
			InstallIf("busybox=1.36.1-r15", "docs").
			File("usr/share/man/man1/busybox.1.gz", 0o644, "manual"),
		Pkg("alpine-base", "3.19.1-r0").Depends("busybox", "musl>=1.2"),
	}
}

func TestRepo(t *testing.T) {
	r := NewRepo(t, "")
	r.Add(samplePackages()...)
	r.Write()

	if r.URL() != r.Dir || r.IndexPath() != filepath.Join(r.Dir, "x86_64", "APKINDEX.tar.gz") {
		t.Errorf("URL %q index %q", r.URL(), r.IndexPath())
	}
	keys, err := apkfile.LoadKeyring(r.KeysDir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys.Names(), []string{r.KeyName}) {
		t.Errorf("keys dir holds %q", keys.Names())
	}
	idx, err := apkfile.ReadIndex(readFile(t, r.IndexPath()), apkfile.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if idx.Signer != r.KeyName || idx.Description != "cairn-test-repository" {
		t.Errorf("index signer %q description %q", idx.Signer, idx.Description)
	}
	recs, err := apk.ParseIndex(idx.Text)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs, r.Index()) {
		t.Errorf("index holds\n%+v\nIndex() says\n%+v", recs, r.Index())
	}
	var names []string
	for _, rec := range recs {
		names = append(names, rec.NameVersion())
		checkPackage(t, r, rec, keys)
	}
	want := []string{"alpine-base-3.19.1-r0", "alpine-baselayout-data-3.4.3-r2", "busybox-1.36.1-r15",
		"busybox-doc-1.36.1-r15", "musl-1.2.4_git20230717-r4", "openssh-server-pam-9.6_p1-r0"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("index lists %q, want %q", names, want)
	}

	text := idx.Text
	for _, line := range []string{
		"P:busybox\nV:1.36.1-r15\nA:x86_64\n",
		"L:MIT\no:busybox\nm:cairn tests <tests@cairn.invalid>\nt:1704067200\nc:",
		"D:so:libc.musl-x86_64.so.1\np:cmd:sh=1.36.1-r15 cmd:ls=1.36.1-r15 /bin/sh\n",
		"p:so:libc.musl-x86_64.so.1=1.2.4_git20230717\n",
		"P:alpine-baselayout-data\nV:3.4.3-r2\nA:x86_64\n", // noarch, rewritten
		"o:alpine-baselayout\n",
		"k:10\nD:!openssh-server-krb5 cmd:sh\np:openssh-server=9.6_p1-r0\n",
		"i:busybox=1.36.1-r15 docs\n",
		"I:0\n", // alpine-base is a meta package
	} {
		if !strings.Contains(text, line) {
			t.Errorf("index lacks %q:\n%s", line, text)
		}
	}
}

// checkPackage verifies a written package against its index record.
func checkPackage(t *testing.T, r *Repo, rec *apk.Package, keys *apkfile.Keyring) {
	t.Helper()
	file := r.PackagePath(rec.Name, rec.Version)
	if want := filepath.Join(r.Dir, "x86_64", rec.Name+"-"+rec.Version+".apk"); file != want {
		t.Errorf("package path %q, want %q", file, want)
	}
	data := readFile(t, file)
	if int64(len(data)) != rec.Size {
		t.Errorf("%s: S:%d, file has %d bytes", rec.NameVersion(), rec.Size, len(data))
	}
	rd, err := apkfile.Open(bytes.NewReader(data), apkfile.Options{Keys: keys})
	if err != nil {
		t.Fatalf("%s: %v", rec.NameVersion(), err)
	}
	var entries []string
	for {
		h, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", rec.NameVersion(), err)
		}
		entries = append(entries, h.Name)
	}
	if !bytes.Equal(rd.Info.Checksum, rec.Checksum) {
		t.Errorf("%s: identity %s, index says %s", rec.NameVersion(), rd.Info.Checksum, rec.Checksum)
	}
	switch rec.Name {
	case "busybox":
		if want := []string{"bin/", "bin/busybox", "bin/bb", "bin/sh"}; !reflect.DeepEqual(entries, want) {
			t.Errorf("busybox entries %q, want %q", entries, want)
		}
		if string(rd.Scripts["post-install"]) == "" || !reflect.DeepEqual(rd.Triggers, []string{"/bin", "/usr/bin"}) {
			t.Errorf("busybox scripts %q triggers %q", rd.Scripts, rd.Triggers)
		}
	case "alpine-baselayout-data":
		if rd.Info.Arch != "noarch" || rd.ReplacesPriority != 10 || len(rd.Replaces) != 1 {
			t.Errorf(".PKGINFO arch %q replaces %v/%d", rd.Info.Arch, rd.Replaces, rd.ReplacesPriority)
		}
		if want := []string{"tmp/", "etc/", "etc/hostname"}; !reflect.DeepEqual(entries, want) {
			t.Errorf("entries %q, want %q", entries, want)
		}
	case "busybox-doc":
		if want := []string{"usr/", "usr/share/", "usr/share/man/", "usr/share/man/man1/", "usr/share/man/man1/busybox.1.gz"}; !reflect.DeepEqual(entries, want) {
			t.Errorf("entries %q, want %q", entries, want)
		}
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRepoDeterministic(t *testing.T) {
	a, b := NewRepo(t, ""), NewRepo(t, filepath.Join(t.TempDir(), "repo"))
	a.Add(samplePackages()...)
	b.Add(samplePackages()...)
	a.Write()
	b.Write()
	for _, rel := range []string{"x86_64/APKINDEX.tar.gz", "x86_64/busybox-1.36.1-r15.apk", "x86_64/alpine-base-3.19.1-r0.apk"} {
		if !bytes.Equal(readFile(t, filepath.Join(a.Dir, rel)), readFile(t, filepath.Join(b.Dir, rel))) {
			t.Errorf("%s differs between two builds", rel)
		}
	}
}

func TestRepoArchitectures(t *testing.T) {
	r := NewRepo(t, "")
	r.Add(Pkg("hello", "1.0-r0").Arch("aarch64").File("usr/bin/hello", 0o755, "arm"))
	r.Write()
	if len(r.Index()) != 0 {
		t.Errorf("x86_64 index lists %d packages", len(r.Index()))
	}
	if _, err := apkfile.ReadIndex(readFile(t, r.IndexPath()), apkfile.Options{Keys: r.Keyring()}); err != nil {
		t.Errorf("empty x86_64 index: %v", err)
	}
	idx, err := apkfile.ReadIndex(readFile(t, r.IndexPathFor("aarch64")), apkfile.Options{Keys: r.Keyring()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(idx.Text, "P:hello\nV:1.0-r0\nA:aarch64\n") || len(r.IndexFor("aarch64")) != 1 {
		t.Errorf("aarch64 index:\n%s", idx.Text)
	}
	if got := r.PackagePath("hello", "1.0-r0"); got != filepath.Join(r.Dir, "aarch64", "hello-1.0-r0.apk") {
		t.Errorf("package path %q", got)
	}
}

func TestRepoSignedByStranger(t *testing.T) {
	r := NewRepo(t, "")
	r.Key = OtherKey(t) // KeysDir still holds Key's public half
	r.Add(Pkg("hello", "1.0-r0"))
	r.Write()
	keys, err := apkfile.LoadKeyring(r.KeysDir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = apkfile.ReadIndex(readFile(t, r.IndexPath()), apkfile.Options{Keys: keys})
	if !apkfile.IsUntrusted(err) || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("error %v, want a bad signature", err)
	}
}

func TestInstallKey(t *testing.T) {
	r := NewRepo(t, "")
	root := t.TempDir()
	r.InstallKey(root)
	keys, err := apkfile.LoadKeyring(filepath.Join(root, "etc", "apk", "keys"))
	if err != nil || keys.Lookup(r.KeyName) == nil {
		t.Fatalf("keys %v, err %v", keys.Names(), err)
	}
}

func TestKeys(t *testing.T) {
	k := Key(t)
	if k != Key(t) || k.N.Cmp(OtherKey(t).N) == 0 || k.N.BitLen() != 2048 {
		t.Fatal("Key must return one cached 2048-bit key, different from OtherKey")
	}
	pub, err := apkfile.ParsePublicKey(PublicKeyPEM(&k.PublicKey))
	if err != nil || !pub.Equal(&k.PublicKey) {
		t.Errorf("public key PEM: %v", err)
	}
	priv, err := apkfile.ParsePrivateKey(PrivateKeyPEM(k))
	if err != nil || !priv.Equal(k) {
		t.Errorf("private key PEM: %v", err)
	}
	name := KeyName(&k.PublicKey)
	if !strings.HasPrefix(name, "cairn-test@example.invalid-") || !strings.HasSuffix(name, ".rsa.pub") || len(name) != len("cairn-test@example.invalid-")+8+len(".rsa.pub") {
		t.Errorf("key name %q", name)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and
// ends the goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
	}()
	<-done
	return rec.msg
}

func TestRepoReportsMistakes(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(r *Repo)
		want string
	}{
		{"bad dependency", func(r *Repo) { r.Add(Pkg("a", "1").Depends("b>=")) }, `apktest: package a-1: depends: "b>=" is not a valid dependency`},
		{"bad package", func(r *Repo) { r.Add(Pkg("a", "1").Script("post-remove", "")); r.Write() }, `script "post-remove": not one of`},
		{"added twice", func(r *Repo) { r.Add(Pkg("a", "1"), Pkg("a", "1")); r.Write() }, "x86_64/a-1.apk added twice"},
		{"index before write", func(r *Repo) { r.Index() }, "Index before Write"},
		{"unknown package", func(r *Repo) { r.PackagePath("nope", "1") }, "no package nope-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := fatalOf(t, func(tb testing.TB) {
				r := NewRepo(t, "")
				r.t = tb
				tt.fn(r)
			})
			if !strings.Contains(msg, tt.want) {
				t.Errorf("failure %q, want %q", msg, tt.want)
			}
		})
	}
}
