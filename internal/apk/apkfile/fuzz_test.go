package apkfile

import (
	"bytes"
	"io"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// fuzzOptions verify with Alpine's keys and the test key, and once more
// accepting anything signed or not, which lets the fuzzer past the
// signature check.
func fuzzOptions(f *testing.F) []Options {
	kr := alpineKeys(f)
	s := testSigner(f, 0)
	kr.AddKey(s.Name, &s.Key.PublicKey)
	return []Options{{Keys: kr}, {Keys: kr, AllowUntrusted: true}}
}

// FuzzOpenPackage feeds arbitrary bytes to the package reader, which must
// return an error rather than panic or hang.
func FuzzOpenPackage(f *testing.F) {
	for _, file := range fixturePackages(f) {
		// Large seeds (tzdata) make the fuzzer spend its time minimizing.
		if data := readFile(f, file); len(data) < 64<<10 {
			f.Add(data)
		}
	}
	small := &PackageSpec{
		Info:     apk.Package{Name: "tiny", Version: "1.0-r0", Depends: deps(f, "so:libc.musl-x86_64.so.1")},
		Scripts:  map[string][]byte{"post-install": []byte("#!/bin/sh\n"), "trigger": []byte("#!/bin/sh\n")},
		Triggers: []string{"/usr/lib"},
		Files: []FileSpec{
			{Path: "usr", Mode: fs.ModeDir | 0o755},
			{Path: "usr/bin", Mode: fs.ModeDir | 0o755},
			{Path: "usr/bin/tiny", Mode: 0o755, Data: []byte("#!/bin/sh\necho tiny\n"), Xattrs: map[string][]byte{"user.a": []byte("b")}},
			{Path: "usr/bin/t", Mode: 0o755, HardLink: true, Link: "usr/bin/tiny"},
			{Path: "usr/bin/ty", Mode: fs.ModeSymlink | 0o777, Link: "tiny"},
		},
	}
	signed, _ := writeSpec(f, small, testSigner(f, 0))
	unsigned, _ := writeSpec(f, small)
	f.Add(signed)
	f.Add(unsigned)
	opts := fuzzOptions(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range opts {
			rd, err := Open(bytes.NewReader(data), o)
			if err != nil {
				continue
			}
			for {
				_, err := rd.Next()
				if err != nil {
					break
				}
				// A consumer reads what it extracts; the limit keeps a
				// declared size of gigabytes from stalling the fuzzer.
				if _, err := io.CopyN(io.Discard, rd, 64<<20); err != nil && err != io.EOF {
					break
				}
			}
		}
	})
}

// FuzzReadIndex feeds arbitrary bytes to the index reader and the index
// text parser.
func FuzzReadIndex(f *testing.F) {
	f.Add(readFile(f, filepath.Join(testutil.Fixtures(f), "alpine-v3.19", "iso-x86_64-APKINDEX.tar.gz")))
	recs := testRecords(f)
	f.Add(signedIndex(f, recs, testSigner(f, 0)))
	unsigned, err := BuildIndexArchive(recs, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(unsigned)
	opts := fuzzOptions(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range opts {
			idx, err := ReadIndex(data, o)
			if err != nil {
				continue
			}
			apk.ParseIndex(idx.Text)
		}
	})
}
