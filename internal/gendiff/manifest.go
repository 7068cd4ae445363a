package gendiff

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
)

// manifestPath is where a generation keeps the manifest it was built
// from and its lock (layout.ManifestDir), relative to its root.
var manifestPath = strings.TrimPrefix(layout.ManifestDir, "/")

// ManifestChange is a file of the manifest a generation was built from
// (the top file, an included one, the lock) added, removed or changed.
type ManifestChange struct {
	// Path is the file's path relative to the top manifest's directory.
	Path   string `json:"path"`
	Change string `json:"change"`
	// Lines is the change of a manifest file as a unified diff with two
	// lines of context: hunk headers ("@@ -3,4 +3,5 @@"), then lines
	// starting with " ", "-" or "+". The lock's lines are left out: its
	// changes are the package changes.
	Lines []string `json:"lines,omitempty"`
}

// maxDiffLines bounds the files whose lines are compared (the comparison
// takes their product in time and memory).
const maxDiffLines = 4000

// diffManifest compares the manifests kept in the trees a and b.
func diffManifest(a, b string) ([]ManifestChange, error) {
	fa, err := manifestFiles(a)
	if err != nil {
		return nil, err
	}
	fb, err := manifestFiles(b)
	if err != nil {
		return nil, err
	}
	out := []ManifestChange{}
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range fa {
			if !yield(p) {
				return
			}
		}
		for p := range fb {
			if _, ok := fa[p]; !ok && !yield(p) {
				return
			}
		}
	})
	for _, p := range paths {
		old, inA := fa[p]
		cur, inB := fb[p]
		c := ManifestChange{Path: p}
		switch {
		case !inA:
			c.Change = Added
		case !inB:
			c.Change = Removed
		case old == cur:
			continue
		default:
			c.Change = Changed
		}
		if !strings.HasSuffix(p, ".lock") {
			c.Lines = unifiedDiff(splitLines(old), splitLines(cur), 2)
		}
		out = append(out, c)
	}
	return out, nil
}

// manifestFiles reads the files below manifestPath in root, by path
// relative to it; none when the generation kept no manifest.
func manifestFiles(root string) (map[string]string, error) {
	files := map[string]string{}
	dir := filepath.Join(root, manifestPath)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && os.IsNotExist(err) {
				return fs.SkipDir
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := readFileIn(root, filepath.ToSlash(filepath.Join(manifestPath, rel)))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	return files, err
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffOp is one line of a diff: kept (' '), removed ('-') or added ('+').
type diffOp struct {
	kind byte
	text string
}

// unifiedDiff returns the lines of a unified diff of a and b with ctx
// lines of context, by their longest common subsequence; files too long
// to compare are one hunk replacing all of a by all of b.
func unifiedDiff(a, b []string, ctx int) []string {
	ops := lineOps(a, b)
	var out []string
	// aBefore and bBefore count the lines of a and b before ops[k].
	aBefore := make([]int, len(ops)+1)
	bBefore := make([]int, len(ops)+1)
	for k, o := range ops {
		aBefore[k+1], bBefore[k+1] = aBefore[k], bBefore[k]
		if o.kind != '+' {
			aBefore[k+1]++
		}
		if o.kind != '-' {
			bBefore[k+1]++
		}
	}
	// Hunks: runs of changes with ctx lines of context around them,
	// merged when their contexts touch.
	for start := 0; start < len(ops); {
		if ops[start].kind == ' ' {
			start++
			continue
		}
		end := start
		for k := start; k < len(ops) && k-end <= 2*ctx; k++ {
			if ops[k].kind != ' ' {
				end = k
			}
		}
		from, to := max(0, start-ctx), min(len(ops), end+ctx+1)
		out = append(out, fmt.Sprintf("@@ -%s +%s @@", hunkRange(aBefore[from], aBefore[to]-aBefore[from]), hunkRange(bBefore[from], bBefore[to]-bBefore[from])))
		for _, o := range ops[from:to] {
			out = append(out, string(o.kind)+o.text)
		}
		start = to
	}
	return out
}

// lineOps is the shortest edit turning a into b, by their longest common
// subsequence; files too long to compare are replaced whole.
func lineOps(a, b []string) []diffOp {
	var ops []diffOp
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	return ops
}

// hunkRange writes one side of a hunk header as diff -u does: the first
// line and the count, the count left out when it is 1, and an empty side
// numbered by the line before it.
func hunkRange(before, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprintf("%d", before+1)
	}
	return fmt.Sprintf("%d,%d", before+1, n)
}
