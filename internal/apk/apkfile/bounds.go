package apkfile

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds on what an index or a package may make cairn hold in memory,
// checked as the bytes arrive, so that an archive that expands to
// gigabytes is refused within a fixed amount of memory — before its
// signature is checked, where that comes first.
const (
	// maxSignaturePart bounds the first gzip member of a signed file:
	// a few .SIGN entries of a few hundred bytes each.
	maxSignaturePart = 64 << 10
	// maxControlSize bounds a package's control part: .PKGINFO and the
	// scripts (Alpine's largest are a few KiB). It is held in memory.
	maxControlSize = 4 << 20
	// maxIndexSize bounds the APKINDEX text of an index (Alpine 3.19's
	// community index has 10 MiB).
	maxIndexSize = 256 << 20
	// dataSlack is how much file data a package may hold beyond twice
	// the installed size its .PKGINFO declares (apk's sizes round each
	// file up to a block; Alpine's packages hold at most their size).
	dataSlack = 1 << 20
)

// TooLargeError reports a part of a package or index larger than cairn
// accepts.
type TooLargeError struct {
	What  string // "the signature part of the index"
	Limit int64  // bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s: refused", e.What, humanBytes(e.Limit))
}

// DataSizeError reports a package whose files are far larger than the
// installed size its .PKGINFO declares.
type DataSizeError struct {
	Declared int64 // the .PKGINFO size
	Limit    int64 // what was accepted
}

func (e *DataSizeError) Error() string {
	return fmt.Sprintf("the package's files take more than %s, far more than the %s its .PKGINFO declares: refused", humanBytes(e.Limit), humanBytes(e.Declared))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// capReader reads at most n bytes from r and fails with a TooLargeError
// when there are more.
type capReader struct {
	r     io.Reader
	n     int64 // bytes left
	limit int64 // bytes in all; n when 0
	what  string
}

func (c *capReader) err() error {
	if c.limit == 0 {
		c.limit = c.n
	}
	return &TooLargeError{What: c.what, Limit: c.limit}
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		var b [1]byte
		for {
			n, err := c.r.Read(b[:])
			if n > 0 {
				return 0, c.err()
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if c.limit == 0 {
		c.limit = c.n
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// firstMember is what the first gzip member of a package or index says.
type firstMember struct {
	sigs   []signature
	signed bool
	// data is the whole member of an unsigned package (its control
	// part), when asked for.
	data []byte
}

// readFirstMember reads the first gzip member of a file from member (a
// gzip reader on it, with multistream off) and decides from its first tar header what it is: the
// signatures, read whole within maxSignaturePart; or, for an unsigned
// file, refused at once unless untrusted files are allowed, and then read
// whole within unsignedLimit (a package's control part) or not at all
// (unsignedLimit 0: an index is read from the start). what names the file
// in messages ("index", "package").
func readFirstMember(member io.Reader, what string, o Options, unsignedLimit int64) (firstMember, error) {
	var buf bytes.Buffer
	lim := &capReader{r: member, n: maxSignaturePart, what: "the signature part of the " + what}
	tr := tar.NewReader(io.TeeReader(lim, &buf))
	h, err := tr.Next()
	if err != nil {
		return firstMember{}, partError(what, err)
	}
	if !strings.HasPrefix(h.Name, ".SIGN.") {
		if !o.AllowUntrusted {
			return firstMember{}, fmt.Errorf("%s signature: %w%s", what, ErrUnsigned, untrustedHint(o))
		}
		if unsignedLimit == 0 {
			return firstMember{}, nil
		}
		// The rest of the member, after what the tar reader took.
		lim.n += unsignedLimit - maxSignaturePart
		lim.limit = unsignedLimit
		lim.what = "the control part of the " + what
		if _, err := io.Copy(&buf, lim); err != nil {
			return firstMember{}, partError(what, err)
		}
		return firstMember{data: buf.Bytes()}, nil
	}
	fm := firstMember{signed: true}
	for ; err == nil; h, err = tr.Next() {
		body, err := io.ReadAll(tr)
		if err != nil {
			return firstMember{}, partError(what, err)
		}
		if !strings.HasPrefix(h.Name, ".SIGN.") {
			continue
		}
		if hsh, key, ok := signatureAlgorithm(h.Name); ok && !strings.Contains(key, "/") {
			fm.sigs = append(fm.sigs, signature{hash: hsh, key: key, data: body})
		}
	}
	if err != io.EOF {
		return firstMember{}, partError(what, err)
	}
	// To the member's end (its gzip trailer), so that what follows starts
	// at the next member.
	if _, err := io.Copy(io.Discard, lim); err != nil {
		return firstMember{}, partError(what, err)
	}
	return fm, nil
}

// partError words a failure to read the first member of a package or
// index, as truncated does; a TooLargeError and errors of the underlying
// reader pass through.
func partError(what string, err error) error {
	var tl *TooLargeError
	switch {
	case errors.As(err, &tl):
		return err
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return formatErrorf("truncated %s: the file ends early", what)
	case isDecodeError(err):
		return formatErrorf("damaged %s: %v", what, err)
	}
	return err
}
