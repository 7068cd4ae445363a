package apk

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"unsafe"
)

// RawDeps holds a record's dependency fields unparsed ("D:", "p:", "i:"),
// so a caller can parse them straight into its own structures.
type RawDeps struct {
	Depends, Provides, InstallIf string
}

// ScanOptions tune ScanIndex.
type ScanOptions struct {
	// DropDescriptive drops the descriptive fields (T: description, U:
	// url, m: maintainer, c: commit, L: license, o: origin) of packages
	// with files, to save memory on large indexes: installing such a
	// package takes them from its .PKGINFO. Meta packages (installed size
	// 0), which are never unpacked, keep them for their installed-database
	// record.
	DropDescriptive bool
	// Intern, when set, returns a shared copy of a short, often repeated
	// value: the package name (field 'P'), arch, license or origin.
	Intern func(field byte, value []byte) string
	// Transient makes the strings of a record (version, descriptive
	// fields, the raw dependency lists) views of a buffer that is reused
	// for the next record: valid only during fn, which copies what it
	// keeps. It saves an allocation per record.
	Transient bool
}

// ScanIndex reads an APKINDEX text stream record by record and calls fn
// with each package and its unparsed dependency fields. It keeps no more
// than one record in memory. Numeric fields and the checksum are decoded on
// the fly; the remaining strings of a package share one allocation. The
// Package is reused for the next record: fn copies what it keeps (its
// strings and checksum stay valid). Its dependency lists are left nil:
// parse raw with EachDependency or ParseDependencies.
func ScanIndex(r io.Reader, o ScanOptions, fn func(p *Package, raw RawDeps) error) error {
	sc := &indexScanner{o: o, fn: fn}
	if sc.o.Intern == nil {
		sc.o.Intern = func(_ byte, b []byte) string { return string(b) }
	}
	return sc.run(r)
}

type indexScanner struct {
	o  ScanOptions
	fn func(p *Package, raw RawDeps) error

	cur    *Package
	reuse  Package
	buf    []byte // the string fields of the current record, "X:value\n" each
	starts []int  // start offset of each kept line in buf
	nums   []int  // its line number
	desc   []byte // descriptive lines held back (DropDescriptive)
	descNo []int
	first  int
	sums   []byte
	lines  []recordLine
	lineNo int
	// recLines counts the lines of the current record.
	recLines int
}

func (sc *indexScanner) pkg() *Package {
	if sc.cur == nil {
		sc.reuse = Package{}
		sc.cur = &sc.reuse
		sc.first = sc.lineNo
	}
	return sc.cur
}

func (sc *indexScanner) run(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: collect it whole.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				if len(long) > maxIndexLine {
					return &IndexError{Line: sc.lineNo + 1, Msg: fmt.Sprintf("line longer than %d MiB: refused", maxIndexLine>>20)}
				}
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			sc.lineNo++
			if lerr := sc.line(bytes.TrimSuffix(line, []byte{'\n'})); lerr != nil {
				return lerr
			}
		}
		if err == io.EOF {
			return sc.flush()
		}
		if err != nil {
			return err
		}
	}
}

// Bounds on one line and one record of an index: the longest lines of
// Alpine's indexes (dependency lists) have a few KiB.
const (
	maxIndexLine   = 1 << 20
	maxIndexRecord = 4 << 20
	maxRecordLines = 1 << 16
)

func (sc *indexScanner) line(l []byte) error {
	if len(l) < 2 {
		return sc.flush()
	}
	if sc.recLines++; sc.recLines > maxRecordLines || len(sc.buf)+len(sc.desc)+len(l) > maxIndexRecord {
		return &IndexError{Line: sc.lineNo, Msg: fmt.Sprintf("record longer than %d lines or %d MiB: refused", maxRecordLines, maxIndexRecord>>20)}
	}
	if l[1] != ':' {
		return &IndexError{Line: sc.lineNo, Msg: fmt.Sprintf("%q is not a \"X:value\" line", truncate(string(l), 40))}
	}
	p := sc.pkg()
	v := l[2:]
	var err error
	switch l[0] {
	case 'P':
		p.Name = sc.o.Intern('P', v)
	case 'A':
		p.Arch = sc.o.Intern('A', v)
	case 'L', 'o':
		switch {
		case sc.o.DropDescriptive:
			sc.holdBack(l)
		case l[0] == 'L':
			p.License = sc.o.Intern('L', v)
		default:
			p.Origin = sc.o.Intern('o', v)
		}
	case 'C':
		p.Checksum, err = sc.checksum(v)
	case 'S':
		p.Size, err = strconv.ParseInt(string(v), 10, 64)
	case 'I':
		p.InstalledSize, err = strconv.ParseInt(string(v), 10, 64)
	case 't':
		p.BuildTime, err = strconv.ParseInt(string(v), 10, 64)
	case 'k':
		var k int64
		k, err = strconv.ParseInt(string(v), 10, 32)
		p.ProviderPriority = int(k)
	case 'T', 'U', 'm', 'c':
		if !sc.o.DropDescriptive {
			sc.keep(l)
		} else {
			sc.holdBack(l)
		}
	default:
		sc.keep(l)
	}
	if err != nil {
		return &IndexError{Line: sc.lineNo, Msg: fmt.Sprintf("field %c: %v", l[0], err)}
	}
	return nil
}

// checksum decodes a "Q1" SHA-1 into a block of checksums; other
// encodings take the general path.
func (sc *indexScanner) checksum(v []byte) (Checksum, error) {
	if len(v) == 30 && v[0] == 'Q' && v[1] == '1' {
		if len(sc.sums) < 20 {
			sc.sums = make([]byte, 20*256)
		}
		n, err := base64.StdEncoding.Decode(sc.sums[:20], v[2:])
		if err == nil && n == 20 {
			c := Checksum(sc.sums[:20:20])
			sc.sums = sc.sums[20:]
			return c, nil
		}
	}
	if len(v) == 0 {
		return nil, nil
	}
	return ParseChecksum(string(v))
}

// holdBack keeps a descriptive line aside until the record's installed
// size says whether it is needed.
func (sc *indexScanner) holdBack(l []byte) {
	sc.desc = append(append(sc.desc, l...), '\n')
	sc.descNo = append(sc.descNo, sc.lineNo)
}

func (sc *indexScanner) keep(l []byte) {
	sc.starts = append(sc.starts, len(sc.buf))
	sc.nums = append(sc.nums, sc.lineNo)
	sc.buf = append(sc.buf, l...)
	sc.buf = append(sc.buf, '\n')
}

func (sc *indexScanner) flush() error {
	p := sc.cur
	if p == nil {
		return nil
	}
	if p.InstalledSize == 0 && len(sc.desc) > 0 {
		for i, no := range sc.descNo {
			end := len(sc.desc)
			if i+1 < len(sc.descNo) {
				end = bytes.IndexByte(sc.desc, '\n') + 1
			}
			sc.starts = append(sc.starts, len(sc.buf))
			sc.nums = append(sc.nums, no)
			sc.buf = append(sc.buf, sc.desc[:end]...)
			sc.desc = sc.desc[end:]
		}
	}
	sc.desc, sc.descNo = sc.desc[:0], sc.descNo[:0]
	var s string
	if sc.o.Transient && len(sc.buf) > 0 {
		// Valid until buf is reused for the next record, after fn returns.
		s = unsafe.String(&sc.buf[0], len(sc.buf))
	} else {
		s = string(sc.buf)
	}
	sc.lines = sc.lines[:0]
	for i, st := range sc.starts {
		end := len(s)
		if i+1 < len(sc.starts) {
			end = sc.starts[i+1]
		}
		sc.lines = append(sc.lines, recordLine{Field: s[st], Value: s[st+2 : end-1], Line: sc.nums[i]})
	}
	var raw RawDeps
	for _, l := range sc.lines {
		switch l.Field {
		case 'D':
			raw.Depends = joinDeps(raw.Depends, l.Value)
		case 'p':
			raw.Provides = joinDeps(raw.Provides, l.Value)
		case 'i':
			raw.InstallIf = joinDeps(raw.InstallIf, l.Value)
		default:
			if _, err := applyIndexField(p, l); err != nil {
				return err
			}
		}
	}
	if p.Name == "" || p.Version == "" {
		return &IndexError{Line: sc.first, Msg: "record has no P: name or V: version"}
	}
	sc.cur = nil
	sc.recLines = 0
	sc.buf, sc.starts, sc.nums = sc.buf[:0], sc.starts[:0], sc.nums[:0]
	return sc.fn(p, raw)
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
