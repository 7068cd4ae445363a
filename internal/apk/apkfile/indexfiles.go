package apkfile

import (
	"context"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

// FileError is a package file that did not verify.
type FileError struct {
	File string
	Err  error
}

func (e FileError) Error() string { return e.File + ": " + e.Err.Error() }

// IndexFiles verifies each package file against trust and returns the
// index records of those that verify, in index order (SortIndex), each
// package identity once as apk's database lists it, with its file's
// size, and its arch set to rewriteArch when that is not empty. The files
// that do not verify are returned in order; they do not stop the others.
func IndexFiles(ctx context.Context, files []string, trust Options, rewriteArch string) ([]*apk.Package, []FileError, error) {
	var recs []*apk.Package
	var failed []FileError
	seen := map[string]bool{}
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		info, _, size, err := VerifyFile(file, trust)
		if err != nil {
			failed = append(failed, FileError{File: file, Err: err})
			continue
		}
		if id := info.Checksum.String(); !seen[id] {
			seen[id] = true
			info.Size = size
			if rewriteArch != "" {
				info.Arch = rewriteArch
			}
			recs = append(recs, info)
		}
	}
	SortIndex(recs)
	return recs, failed, nil
}

// MissingProviders are the names the packages depend on that none of
// them provides, in apk index's order (case-insensitive, then as is).
// Like apk, it counts depends only, not install_if conditions.
func MissingProviders(recs []*apk.Package) []string {
	provided := map[string]bool{}
	for _, r := range recs {
		provided[r.Name] = true
		for _, p := range r.Provides {
			provided[p.Name] = true
		}
	}
	missing := map[string]bool{}
	for _, r := range recs {
		for _, d := range r.Depends {
			if !d.Conflict && !provided[d.Name] {
				missing[d.Name] = true
			}
		}
	}
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := strings.ToLower(names[i]), strings.ToLower(names[j])
		if a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	return names
}
