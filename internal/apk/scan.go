package apk

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// RawDeps holds a record's dependency fields unparsed ("D:", "p:", "i:"),
// so a caller can parse them straight into its own structures.
type RawDeps struct {
	Depends, Provides, InstallIf string
}

// ScanOptions tune ScanIndex.
type ScanOptions struct {
	// DropDescriptive drops the descriptive fields (T: description, U: url,
	// m: maintainer, c: commit), which choosing and installing packages
	// never need, to save memory on large indexes.
	DropDescriptive bool
}

// ScanIndex reads an APKINDEX text stream record by record and calls fn
// with each package and its unparsed dependency fields. It keeps no more
// than one record in memory: each package's strings share one allocation,
// and packages are allocated in blocks. The Package's dependency lists
// are left nil; parse raw with EachDependency (or ParseDependencies).
func ScanIndex(r io.Reader, o ScanOptions, fn func(p *Package, raw RawDeps) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		buf    []byte // the kept lines of the current record, "X:value\n" each
		starts []int  // start offset of each kept line in buf
		nums   []int  // its line number
		lines  []recordLine
		slab   []Package
		lineNo int
	)
	flush := func() error {
		if len(starts) == 0 {
			return nil
		}
		s := string(buf)
		lines = lines[:0]
		for i, st := range starts {
			end := len(s)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			lines = append(lines, recordLine{Field: s[st], Value: s[st+2 : end-1], Line: nums[i]})
		}
		if len(slab) == 0 {
			slab = make([]Package, 256)
		}
		p := &slab[0]
		slab = slab[1:]
		var raw RawDeps
		for _, l := range lines {
			switch l.Field {
			case 'D':
				raw.Depends = joinDeps(raw.Depends, l.Value)
				continue
			case 'p':
				raw.Provides = joinDeps(raw.Provides, l.Value)
				continue
			case 'i':
				raw.InstallIf = joinDeps(raw.InstallIf, l.Value)
				continue
			}
			if _, err := applyIndexField(p, l); err != nil {
				return err
			}
		}
		if p.Name == "" || p.Version == "" {
			return &IndexError{Line: nums[0], Msg: "record has no P: name or V: version"}
		}
		buf, starts, nums = buf[:0], starts[:0], nums[:0]
		return fn(p, raw)
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: collect it whole.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			lineNo++
			l := bytes.TrimSuffix(line, []byte{'\n'})
			if len(l) < 2 {
				if ferr := flush(); ferr != nil {
					return ferr
				}
			} else {
				if l[1] != ':' {
					return &IndexError{Line: lineNo, Msg: fmt.Sprintf("%q is not a \"X:value\" line", truncate(string(l), 40))}
				}
				if !(o.DropDescriptive && (l[0] == 'T' || l[0] == 'U' || l[0] == 'm' || l[0] == 'c')) {
					starts = append(starts, len(buf))
					nums = append(nums, lineNo)
					buf = append(buf, l...)
					buf = append(buf, '\n')
				}
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return err
		}
	}
}

func joinDeps(have, more string) string {
	if have == "" {
		return more
	}
	return have + " " + more
}

// EachDependency calls fn for each entry of a space or newline separated
// dependency list, stopping (like apk) at the first entry that does not
// parse. The entries' strings are substrings of s.
func EachDependency(s string, fn func(Dependency)) error {
	for len(s) > 0 {
		d, rest, ok := pullDependency(s)
		if !ok {
			return &DepSyntaxError{Text: firstToken(s)}
		}
		fn(d)
		s = rest
	}
	return nil
}

func firstToken(s string) string {
	for i := 0; i < len(s); i++ {
		if isDepSeparator(s[i]) {
			return s[:i]
		}
	}
	return s
}
