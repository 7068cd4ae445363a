package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// LockVersion is the format version of cairn.lock this cairn writes and
// reads; LockFile is its name beside a manifest named system.yaml.
const (
	LockVersion = 1
	LockFile    = "cairn.lock"
)

// LockPath is where the lock of the manifest at manifestPath is kept,
// beside it: cairn.lock for system.yaml, NAME.lock for any other
// NAME.yaml, so that several manifests can share a directory (a fleet's
// nodes beside the base they include).
func LockPath(manifestPath string) string {
	dir, base := filepath.Split(manifestPath)
	if base == "system.yaml" || base == "system.yml" {
		return filepath.Join(dir, LockFile)
	}
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	return filepath.Join(dir, name+".lock")
}

// ErrLockMismatch is returned (wrapped) by Matches when the lock was made
// for another manifest.
var ErrLockMismatch = errors.New("cairn.lock does not match the manifest")

const lockHeader = "# cairn.lock: what the manifest resolved to. Written by cairn (cairn lock --update); do not edit.\n"

// ReadLock reads and checks the lock file at path.
func ReadLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	return ParseLock(path, data)
}

// ParseLock reads data as the lock file named name. Like manifests, locks
// are strict: every problem is returned at once as Errors.
func ParseLock(name string, data []byte) (*Lock, error) {
	root, errs := readDocument(name, data)
	if errs != nil {
		return nil, errs
	}
	var l Lock
	positions := map[string]position{}
	dec := newDecoder(func(*yaml.Node) string { return name }, positions)
	dec.value(root, root, reflect.ValueOf(&l).Elem(), "")
	errs = dec.errs
	for _, e := range l.problems() {
		if !covered(e.Path, dec.errs) {
			e.refer(positions)
			locate(e, positions, nil)
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		errs.sortByPosition()
		return nil, errs
	}
	return &l, nil
}

// problems checks the values of a lock.
func (l *Lock) problems() Errors {
	v := &validator{}
	if l.Version != LockVersion {
		v.add("lockVersion", "%d is not a lock version this cairn reads (%d): run cairn lock --update", l.Version, LockVersion)
	}
	if !validDigest(l.ManifestDigest) {
		v.add("manifestDigest", "%s is not a digest: sha256: and 64 hex digits", quoted(l.ManifestDigest))
	}
	if l.SourceDateEpoch < 0 {
		v.add("sourceDateEpoch", "%d is negative: seconds since 1970", l.SourceDateEpoch)
	}
	if !slices.Contains(arches, l.Arch) {
		v.add("arch", "%s is not an Alpine architecture (%s)", quoted(l.Arch), oneOf(arches))
	}
	names := unique{}
	for i, p := range l.Packages {
		ip := indexPath("packages", i)
		if !packageName.MatchString(p.Name) {
			v.add(keyPath(ip, "name"), "%s is not a package name", quoted(p.Name))
		} else {
			names.seen(v, keyPath(ip, "name"), p.Name, "package")
		}
		if !apk.ValidVersion(p.Version) {
			v.add(keyPath(ip, "version"), "%s is not an apk version", quoted(p.Version))
		}
		if p.Repository == "" {
			v.add(keyPath(ip, "repository"), "missing: the repository URL as in the manifest")
		}
		if _, err := apk.ParseChecksum(p.Checksum); err != nil {
			v.add(keyPath(ip, "checksum"), "%s is not an apk checksum (Q1 and base64 SHA-1)", quoted(p.Checksum))
		}
	}
	arts := unique{}
	for i, a := range l.Artifacts {
		ip := indexPath("artifacts", i)
		if a.Name == "" {
			v.add(keyPath(ip, "name"), "missing")
		} else {
			arts.seen(v, keyPath(ip, "name"), a.Name, "artifact")
		}
		if a.URL == "" {
			v.add(keyPath(ip, "url"), "missing")
		}
		if !sha256Hex.MatchString(a.SHA256) {
			v.add(keyPath(ip, "sha256"), "%s is not a SHA-256 (64 hex digits)", quoted(a.SHA256))
		}
	}
	return v.errs
}

func validDigest(d string) bool {
	hexPart, ok := bytes.CutPrefix([]byte(d), []byte("sha256:"))
	return ok && sha256Hex.Match(hexPart)
}

// Bytes is the lock's canonical text, as WriteLock writes it: packages
// sorted by name as apk sorts them, artifacts by name, keys in a fixed
// order.
func (l *Lock) Bytes() []byte {
	c := *l
	c.Packages = slices.Clone(l.Packages)
	slices.SortStableFunc(c.Packages, func(a, b LockedPackage) int { return apk.CompareNames(a.Name, b.Name) })
	c.Artifacts = slices.Clone(l.Artifacts)
	slices.SortStableFunc(c.Artifacts, func(a, b LockedArtifact) int { return apk.CompareNames(a.Name, b.Name) })
	if c.Packages == nil {
		c.Packages = []LockedPackage{}
	}
	var buf bytes.Buffer
	buf.WriteString(lockHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		panic("manifest: encode lock: " + err.Error()) // plain data cannot fail
	}
	if err := enc.Close(); err != nil {
		panic("manifest: encode lock: " + err.Error())
	}
	return buf.Bytes()
}

// Digest is "sha256:" and the hex SHA-256 of the lock's canonical text.
func (l *Lock) Digest() string {
	sum := sha256.Sum256(l.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Matches reports whether the lock was made for the manifest s as it is
// now; the error wraps ErrLockMismatch when it was not (what --frozen
// refuses).
func (l *Lock) Matches(s *System) error {
	if l.Version != LockVersion {
		return fmt.Errorf("%w: lock version %d, this cairn writes %d (run cairn lock --update)", ErrLockMismatch, l.Version, LockVersion)
	}
	if d := s.Digest(); l.ManifestDigest != d {
		return fmt.Errorf("%w: the lock was made for manifest %s, the manifest is now %s (run cairn lock --update)",
			ErrLockMismatch, shortDigest(l.ManifestDigest), shortDigest(d))
	}
	return nil
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// WriteLock writes l to path atomically: a temporary file beside it is
// written, synced and renamed over path, and the directory is synced, so
// that a crash leaves either the old lock or the new one.
func WriteLock(path string, l *Lock) error {
	err := rootfs.WriteFileAt(path, l.Bytes(), rootfs.WriteOptions{Perm: 0o644, Sync: true, SyncDir: true})
	if err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	return nil
}
