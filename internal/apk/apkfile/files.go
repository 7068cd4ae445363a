package apkfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/cairnlinux/cairn/internal/apk"
)

// ContentError is a package file that could be read but did not verify:
// a bad signature, damaged data, not a package at all.
type ContentError struct{ Err error }

func (e *ContentError) Error() string { return e.Err.Error() }
func (e *ContentError) Unwrap() error { return e.Err }

// IsContentError reports whether err is a *ContentError.
func IsContentError(err error) bool {
	var ce *ContentError
	return errors.As(err, &ce)
}

// VerifyFile reads the package file completely, which checks its
// signature, identity and data hash, and returns its metadata, the name
// of the key that verified it and its size. A file that does not verify
// is a *ContentError; one that cannot be read, the error reading it.
func VerifyFile(file string, trust Options) (info *apk.Package, signer string, size int64, err error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, "", 0, fmt.Errorf("%s: not a regular file", file)
	}
	rd, err := Open(bufio.NewReaderSize(f, 256<<10), trust)
	if err != nil {
		return nil, "", 0, &ContentError{err}
	}
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			return nil, "", 0, &ContentError{fmt.Errorf("package %s: %w", rd.Info.NameVersion(), err)}
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return nil, "", 0, &ContentError{fmt.Errorf("package %s: %w", rd.Info.NameVersion(), err)}
		}
	}
	return rd.Info, rd.Signer, st.Size(), nil
}

// LoadTrust loads the trusted keys of dir. A missing directory is an
// error unless untrusted files are allowed anyway.
func LoadTrust(dir string, allowUntrusted bool) (Options, error) {
	keys, err := LoadKeyring(dir)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && allowUntrusted:
		keys = NewKeyring()
	case errors.Is(err, fs.ErrNotExist):
		return Options{}, fmt.Errorf("no trusted keys: %s does not exist (name a keys directory with --keys-dir, or pass --allow-untrusted)", dir)
	default:
		return Options{}, err
	}
	return Options{Keys: keys, AllowUntrusted: allowUntrusted}, nil
}

// TreeFiles lists a directory tree as package entries, sorted, owned by
// root: what a package of the tree holds.
func TreeFiles(dir string) ([]FileSpec, error) {
	var files []FileSpec
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		f := FileSpec{Path: filepath.ToSlash(rel), Mode: fi.Mode(), Uname: "root", Gname: "root"}
		switch {
		case fi.IsDir():
		case fi.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if f.Data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: only files, directories and symlinks can be packaged", p)
		}
		files = append(files, f)
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}
