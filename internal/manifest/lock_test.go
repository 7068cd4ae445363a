package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testLock() *Lock {
	return &Lock{
		Version:         LockVersion,
		ManifestDigest:  "sha256:" + strings.Repeat("0", 64),
		SourceDateEpoch: 1700000000,
		Arch:            "x86_64",
		Packages: []LockedPackage{
			{Name: "openssh", Version: "9.6_p1-r0", Repository: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main", Checksum: "Q1bRb8sSJmRC4/rDDi6mKJZc2B9qQ="},
			{Name: "alpine-base", Version: "3.19.1-r0", Repository: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main", Checksum: "Q1xPSfm9hPT9WwIAJuXuJ41Hn9GWg="},
			{Name: "Zlib-Upper", Version: "1.3-r0", Repository: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main", Checksum: "Q1xPSfm9hPT9WwIAJuXuJ41Hn9GWg="},
		},
		Artifacts: []LockedArtifact{{Name: "nomad", URL: "https://example.org/nomad.zip", SHA256: strings.Repeat("ab", 32)}},
	}
}

func TestLockRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFile)
	l := testLock()
	if err := WriteLock(path, l); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "testdata/lock/cairn.lock.golden", data)
	got, err := ReadLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if names := got.Packages[0].Name + " " + got.Packages[1].Name + " " + got.Packages[2].Name; names != "alpine-base openssh Zlib-Upper" {
		t.Errorf("packages not sorted by name: %s", names)
	}
	if got.Digest() != l.Digest() {
		t.Error("digest changed by a write and a read")
	}
	if string(got.Bytes()) != string(data) {
		t.Error("Bytes differs from what WriteLock wrote")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the lock: %v", entries)
	}
	// Writing again replaces the file.
	l.SourceDateEpoch++
	if err := WriteLock(path, l); err != nil {
		t.Fatal(err)
	}
	if again, err := ReadLock(path); err != nil || again.SourceDateEpoch != l.SourceDateEpoch {
		t.Errorf("rewrite: %v, %+v", err, again)
	}
}

func TestLockDigestIgnoresOrder(t *testing.T) {
	a, b := testLock(), testLock()
	b.Packages[0], b.Packages[2] = b.Packages[2], b.Packages[0]
	if a.Digest() != b.Digest() {
		t.Error("package order changes the lock digest")
	}
	b.Packages[0].Version = "1.3-r1"
	if a.Digest() == b.Digest() {
		t.Error("a version change does not change the lock digest")
	}
}

func TestWriteLockFails(t *testing.T) {
	err := WriteLock(filepath.Join(t.TempDir(), "missing", LockFile), testLock())
	if err == nil || !strings.HasPrefix(err.Error(), "write lock:") {
		t.Errorf("got %v", err)
	}
}

func TestParseLockErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown key", "lockVersion: 1\nmanifestDigest: sha256:" + strings.Repeat("0", 64) + "\nsourceDateEpoch: 0\narch: x86_64\npackages: []\nextra: 1\n",
			"cairn.lock:6:1: extra: unknown key (valid here: lockVersion, manifestDigest, sourceDateEpoch, arch, packages, artifacts)"},
		{"version", "lockVersion: 2\nmanifestDigest: sha256:" + strings.Repeat("0", 64) + "\nsourceDateEpoch: 0\narch: x86_64\npackages: []\n",
			"cairn.lock:1:14: lockVersion: 2 is not a lock version this cairn reads (1): run cairn lock --update"},
		{"entries", "lockVersion: 1\nmanifestDigest: x\nsourceDateEpoch: 0\narch: x86_64\npackages:\n  - {name: a, version: x.y, repository: r, checksum: Q1}\n",
			"cairn.lock:2:17: manifestDigest: \"x\" is not a digest: sha256: and 64 hex digits\ncairn.lock:6:24: packages[0].version: \"x.y\" is not an apk version\ncairn.lock:6:54: packages[0].checksum: \"Q1\" is not an apk checksum (Q1 and base64 SHA-1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLock("cairn.lock", []byte(tc.text))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}

func TestLockMatches(t *testing.T) {
	s := goodSystem()
	l := testLock()
	l.ManifestDigest = s.Digest()
	if err := l.Matches(s); err != nil {
		t.Fatal(err)
	}
	s.Packages = append(s.Packages, "chrony")
	err := l.Matches(s)
	if !errors.Is(err, ErrLockMismatch) || !strings.Contains(err.Error(), "cairn lock --update") {
		t.Errorf("got %v", err)
	}
	l.ManifestDigest = s.Digest()
	l.Version = 0
	if err := l.Matches(s); !errors.Is(err, ErrLockMismatch) {
		t.Errorf("old lock version: got %v", err)
	}
}

func TestLockPath(t *testing.T) {
	for in, want := range map[string]string{
		"system.yaml":             "cairn.lock",
		"fleet/system.yaml":       "fleet/cairn.lock",
		"fleet/node-1.yaml":       "fleet/node-1.lock",
		"/etc/cairn/bootable.yml": "/etc/cairn/bootable.lock",
	} {
		if got := LockPath(in); got != want {
			t.Errorf("LockPath(%q) = %q, want %q", in, got, want)
		}
	}
}
