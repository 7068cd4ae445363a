package apkfile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

// BuildIndexArchive renders an unsigned APKINDEX.tar.gz the way
// `apk index` writes one: a single gzip member holding a tar archive of
// DESCRIPTION (left out when description is empty) and APKINDEX, the
// records in the order given (SortIndex sorts them as apk does). The
// entries carry the newest build time of the packages, so the output
// depends only on the input. Sign it with SignIndexArchive.
func BuildIndexArchive(pkgs []*apk.Package, description string) ([]byte, error) {
	var errs []error
	var mtime int64
	for i, p := range pkgs {
		if p == nil {
			errs = append(errs, fmt.Errorf("record %d is nil", i))
			continue
		}
		if err := checkIndexRecord(p); err != nil {
			errs = append(errs, fmt.Errorf("package %s: %w", p.NameVersion(), err))
		}
		mtime = max(mtime, p.BuildTime)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("build index: %w", err)
	}
	return gzipMember(indexTar(pkgs, description, min(mtime, maxOctal11))), nil
}

// indexTar is the uncompressed index archive.
func indexTar(pkgs []*apk.Package, description string, mtime int64) []byte {
	var tb bytes.Buffer
	if description != "" {
		writeAPKEntry(&tb, "DESCRIPTION", mtime, []byte(description))
	}
	writeAPKEntry(&tb, "APKINDEX", mtime, apk.FormatIndex(pkgs))
	writeEnd(&tb, false)
	return tb.Bytes()
}

// checkIndexRecord refuses records that would not read back as written.
func checkIndexRecord(p *apk.Package) error {
	var errs []error
	if err := checkPackageName(p.Name); err != nil {
		errs = append(errs, fmt.Errorf("name: %w", err))
	}
	if !apk.ValidVersion(p.Version) {
		errs = append(errs, fmt.Errorf("version %q is not a valid apk version", p.Version))
	}
	if len(p.Checksum) == 0 {
		errs = append(errs, errors.New("no identity checksum (C:)"))
	}
	for _, f := range []struct{ key, value string }{
		{"A", p.Arch}, {"T", p.Description}, {"U", p.URL}, {"L", p.License},
		{"o", p.Origin}, {"m", p.Maintainer}, {"c", p.Commit},
	} {
		if strings.ContainsAny(f.value, "\n\r") {
			errs = append(errs, fmt.Errorf("field %s: contains a line break", f.key))
		}
	}
	for _, l := range [][]apk.Dependency{p.Depends, p.Provides, p.InstallIf} {
		for _, d := range l {
			if err := checkDependency(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// SortIndex orders packages as apk index writes them: by name, compared
// without case first, then by version, oldest first.
func SortIndex(pkgs []*apk.Package) {
	slices.SortStableFunc(pkgs, func(a, b *apk.Package) int {
		if c := apk.CompareNames(a.Name, b.Name); c != 0 {
			return c
		}
		switch apk.CompareVersions(a.Version, b.Version) {
		case apk.VersionLess:
			return -1
		case apk.VersionGreater:
			return 1
		}
		return 0
	})
}

// SignIndexArchive signs an index archive as abuild-sign does: it puts a
// signature member in front whose signatures cover every byte after it.
// A signature member the archive already starts with is replaced, so
// signing again does not stack signatures. The signature entries carry
// the index entries' mtime.
func SignIndexArchive(data []byte, signers ...Signer) ([]byte, error) {
	if len(signers) == 0 {
		return nil, errors.New("sign index: no signing key given")
	}
	body, err := stripSignature(data)
	if err != nil {
		return nil, fmt.Errorf("sign index: %w", err)
	}
	mtime, err := indexArchiveTime(body)
	if err != nil {
		return nil, fmt.Errorf("sign index: %w", err)
	}
	sig, err := signatureMember(signers, body, mtime)
	if err != nil {
		return nil, fmt.Errorf("sign index: %w", err)
	}
	return append(sig, body...), nil
}

// stripSignature returns data without its leading signature member, if
// it has one.
func stripSignature(data []byte) ([]byte, error) {
	br := bytes.NewReader(data)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, formatErrorf("not a gzip file: %v", err)
	}
	zr.Multistream(false)
	first, err := readFirstMember(zr, "index", Options{AllowUntrusted: true}, 0)
	if err != nil {
		return nil, err
	}
	if !first.signed {
		// Not a signature member: the index starts right away.
		return data, nil
	}
	return data[len(data)-br.Len():], nil
}

// indexArchiveTime checks that body is a whole index archive (reading it
// to the end, in bounded memory) and returns the mtime of its first entry.
func indexArchiveTime(body []byte) (int64, error) {
	if len(body) == 0 {
		return 0, formatErrorf("no index after the signature")
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return 0, truncatedIndex(err)
	}
	tr := tar.NewReader(&capReader{r: zr, n: maxIndexSize, what: "the index"})
	var mtime int64
	for first := true; ; first = false {
		h, err := tr.Next()
		if err == io.EOF {
			return 0, formatErrorf("not an index archive: it holds no APKINDEX file")
		}
		if err != nil {
			return 0, truncatedIndex(err)
		}
		if first {
			mtime = min(max(h.ModTime.Unix(), 0), maxOctal11)
		}
		if h.Name == "APKINDEX" {
			break
		}
	}
	for {
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return 0, truncatedIndex(err)
		}
		if _, err := tr.Next(); err == io.EOF {
			return mtime, nil
		} else if err != nil {
			return 0, truncatedIndex(err)
		}
	}
}
