//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// The six real Alpine 3.19 packages of the fixtures, in an install order.
var fixturePackages = []string{
	"alpine-baselayout-data-3.4.3-r2",
	"alpine-keys-2.4-r1",
	"alpine-release-3.19.1-r0",
	"tzdata-2023d-r0",
	"network-extras-2.0-r0",
	"alpine-base-3.19.1-r0",
}

type fixtureRepo struct {
	dir  string
	keys *apkfile.Keyring
	db   *solver.DB
	pkgs []*solver.Pkg // fixturePackages, from the signed index
}

func openFixtures(t *testing.T) *fixtureRepo {
	t.Helper()
	dir := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	keys, err := apkfile.LoadKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "iso-x86_64-APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := apkfile.ReadIndex(data, apkfile.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	db := solver.NewDB()
	if _, err := db.AddIndex(strings.NewReader(idx.Text), solver.RepoFirstConfigured); err != nil {
		t.Fatal(err)
	}
	db.AvailableRepos |= 1 << solver.RepoFirstConfigured
	db.Tags[0].AllowedRepos |= 1 << solver.RepoFirstConfigured
	db.CompleteOpen()
	fr := &fixtureRepo{dir: dir, keys: keys, db: db}
	for _, nv := range fixturePackages {
		var found *solver.Pkg
		name := nv[:strings.LastIndex(nv[:strings.LastIndex(nv, "-")], "-")]
		for _, pr := range db.LookupName(name).Providers {
			if pr.Pkg.NameVersion() == nv {
				found = pr.Pkg
			}
		}
		if found == nil {
			t.Fatalf("%s is not in the index", nv)
		}
		fr.pkgs = append(fr.pkgs, found)
	}
	return fr
}

func (fr *fixtureRepo) installer(root string, out, errOut io.Writer) *Installer {
	return &Installer{
		Root: root,
		Open: func(_ context.Context, p *solver.Pkg) (io.ReadCloser, error) {
			return os.Open(filepath.Join(fr.dir, "packages", p.Info().FileName()))
		},
		Verify:       apkfile.Options{Keys: fr.keys},
		Out:          out,
		Err:          errOut,
		Arch:         "x86_64",
		Repositories: []string{"https://dl-cdn.alpinelinux.org/alpine/v3.19/main"},
		KeysDir:      filepath.Join(fr.dir, "keys"),
	}
}

func (fr *fixtureRepo) installAll(t *testing.T, root string) (*Report, string) {
	t.Helper()
	cs := &solver.Changeset{}
	var world []solver.Dep
	for _, p := range fr.pkgs {
		cs.Changes = append(cs.Changes, solver.Change{New: p})
		cs.NumInstall++
		world = append(world, fr.db.ResolveDep(apk.Dependency{Name: p.Name.Name, Mask: apk.DepMaskAny}))
	}
	var out, errOut bytes.Buffer
	rep, err := fr.installer(root, &out, &errOut).Install(context.Background(), fr.db, cs, world)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, errOut.String())
	}
	return rep, out.String()
}

func TestRealAlpinePackages(t *testing.T) {
	fr := openFixtures(t)
	root := t.TempDir()
	rep, out := fr.installAll(t, root)
	want := `(1/6) Installing alpine-baselayout-data (3.4.3-r2)
(2/6) Installing alpine-keys (2.4-r1)
(3/6) Installing alpine-release (3.19.1-r0)
(4/6) Installing tzdata (2023d-r0)
(5/6) Installing network-extras (2.0-r0)
(6/6) Installing alpine-base (3.19.1-r0)
OK: 3 MiB in 6 packages
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if rep.Packages != 6 || len(rep.ScriptsNotRun) != 0 {
		t.Errorf("report %+v", rep)
	}

	// Every entry of every package is in the root as the archive says.
	for _, p := range fr.pkgs {
		checkAgainstArchive(t, root, filepath.Join(fr.dir, "packages", p.Info().FileName()), fr.keys)
	}

	// The database lists what is on disk, and what is read from it is
	// written and read back the same. (Not byte for byte: apk 2.14 moves
	// a meta package's r: line into the next record, alpine-base's here,
	// where reading appends it to that package's own.)
	text, err := os.ReadFile(filepath.Join(root, "lib/apk/db/installed"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := apk.ParseInstalledDB(string(text))
	if err != nil {
		t.Fatal(err)
	}
	again, err := apk.ParseInstalledDB(string(apk.FormatInstalledDB(recs)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, recs) {
		t.Error("the installed database does not survive being written and read again")
	}
	nfiles := 0
	for _, r := range recs {
		idx := fr.byNameVersion(t, r.NameVersion()).Info()
		if !bytes.Equal(r.Checksum, idx.Checksum) || r.Size != idx.Size || r.Arch != "x86_64" {
			t.Errorf("%s: record header %+v differs from the index", r.NameVersion(), r.Package)
		}
		for _, d := range r.Dirs {
			for _, f := range d.Files {
				nfiles++
				p := filepath.Join(root, d.Path, f.Name)
				var sum [20]byte
				if target, err := os.Readlink(p); err == nil {
					sum = sha1.Sum([]byte(target))
				} else if b, err := os.ReadFile(p); err == nil {
					sum = sha1.Sum(b)
				} else {
					t.Errorf("%s: %v", p, err)
					continue
				}
				if !bytes.Equal(sum[:], f.Checksum) {
					t.Errorf("%s/%s: Z:%s does not match the file", d.Path, f.Name, f.Checksum)
				}
			}
		}
	}
	if nfiles < 600 {
		t.Errorf("only %d files in the database", nfiles)
	}
	var base *apk.InstalledPackage
	for _, r := range recs {
		if r.Name == "alpine-base" {
			base = r
		}
	}
	if len(base.Depends) != 10 || base.Description == "" || base.Commit == "" {
		t.Errorf("alpine-base record lost index fields: %+v", base.Package)
	}
	if !strings.Contains(string(text), "R:mtab\na:0:0:777\nZ:Q1kiljhXXH1LlQroHsEJIkPZg2eiw=\n") {
		t.Error("the symlink etc/mtab is not recorded as apk records it")
	}

	for rel, want := range map[string]string{
		"etc/apk/world":        strings.Join([]string{"alpine-base", "alpine-baselayout-data", "alpine-keys", "alpine-release", "network-extras", "tzdata"}, "\n") + "\n",
		"etc/apk/arch":         "x86_64\n",
		"etc/apk/repositories": "https://dl-cdn.alpinelinux.org/alpine/v3.19/main\n",
		"lib/apk/db/triggers":  "",
	} {
		if got, err := os.ReadFile(filepath.Join(root, rel)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "etc/apk/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("keys not copied: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "lib/apk/db/scripts.tar")); len(b) != 1024 {
		t.Errorf("scripts.tar of packages without scripts is %d bytes, want the two end blocks", len(b))
	}
	leftovers(t, root)

	// Installing the same again changes nothing.
	before := snapshot(t, root)
	_, out2 := fr.installAll(t, root)
	if !strings.Contains(out2, "OK: 3 MiB in 6 packages") {
		t.Errorf("second install: %s", out2)
	}
	assertUnchanged(t, before, root)
}

func (fr *fixtureRepo) byNameVersion(t *testing.T, nv string) *solver.Pkg {
	for _, p := range fr.pkgs {
		if p.NameVersion() == nv {
			return p
		}
	}
	t.Fatalf("%s: not a fixture package", nv)
	return nil
}

// checkAgainstArchive compares every data entry of a package with the root.
func checkAgainstArchive(t *testing.T, root, apkPath string, keys *apkfile.Keyring) {
	t.Helper()
	f, err := os.Open(apkPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := apkfile.Open(f, apkfile.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for {
		h, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(h.Name, ".") {
			continue
		}
		p := filepath.Join(root, strings.TrimSuffix(h.Name, "/"))
		st, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", h.Name, err)
			continue
		}
		if perm := uint32(st.Mode().Perm()); h.Typeflag != tar.TypeSymlink && perm != uint32(h.Mode)&0o777 {
			t.Errorf("%s: mode %o, archive %o", h.Name, perm, h.Mode)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if !st.IsDir() {
				t.Errorf("%s: not a directory", h.Name)
			}
		case tar.TypeSymlink:
			if target, _ := os.Readlink(p); target != h.Linkname {
				t.Errorf("%s: symlink to %q, archive %q", h.Name, target, h.Linkname)
			}
			checkPAXSum(t, h, []byte(h.Linkname))
		case tar.TypeLink:
			tst, err := os.Stat(filepath.Join(root, h.Linkname))
			if err != nil || !os.SameFile(st, tst) {
				t.Errorf("%s: not a hard link to %s", h.Name, h.Linkname)
			}
		case tar.TypeReg:
			want, _ := io.ReadAll(rd)
			got, _ := os.ReadFile(p)
			if !bytes.Equal(got, want) {
				t.Errorf("%s: contents differ", h.Name)
			}
			checkPAXSum(t, h, got)
			if st.ModTime().Unix() != h.ModTime.Unix() {
				t.Errorf("%s: mtime %v, archive %v", h.Name, st.ModTime(), h.ModTime)
			}
		}
		if st.Mode().Type() == fs.ModeSymlink && h.Typeflag != tar.TypeSymlink {
			t.Errorf("%s: is a symlink", h.Name)
		}
	}
}

func checkPAXSum(t *testing.T, h *tar.Header, content []byte) {
	t.Helper()
	sum := sha1.Sum(content)
	if want := paxChecksum(h); want != nil && !bytes.Equal(sum[:], want) {
		t.Errorf("%s: SHA-1 %x, PAX record %x", h.Name, sum, want)
	}
}
