package apkfile

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"hash"
	"io"
	"strconv"
	"strings"

	_ "crypto/sha512" // RSA512 signatures

	"github.com/cairnlinux/cairn/internal/apk"
)

// Options control how a package or index is verified.
type Options struct {
	// Keys are the trusted signing keys.
	Keys *Keyring
	// AllowUntrusted accepts unsigned packages and signatures by unknown
	// keys (apk --allow-untrusted). Broken data is still refused.
	AllowUntrusted bool
}

// Script names, as .PKGINFO files and scripts.tar name them.
var ScriptNames = []string{"pre-install", "post-install", "pre-deinstall", "post-deinstall", "pre-upgrade", "post-upgrade", "trigger"}

// Metadata is what the signature and control members of a package say.
type Metadata struct {
	// Info holds the index fields from .PKGINFO. Its Checksum is the
	// package identity; Size is not known from the package itself.
	Info             *apk.Package
	Replaces         []apk.Dependency
	ReplacesPriority int
	// Triggers are the directory globs of the .trigger script.
	Triggers []string
	// DataHash is the SHA-256 of the compressed data member(s), or nil
	// for a legacy package.
	DataHash []byte
	// Scripts maps a script name ("post-install") to its contents.
	Scripts map[string][]byte
	// Signer is the key whose signature verified, "" if none did and
	// untrusted packages were allowed.
	Signer string
}

// Reader reads a verified package: Open checks the signature and parses the
// control part, then Next and Read walk the data part like a tar.Reader.
// When Next returns io.EOF the datahash has been verified.
type Reader struct {
	Metadata
	zr       *gzip.Reader
	tr       *tar.Reader
	dataHash hash.Hash
	legacy   *legacyCheck
	done     bool
	// files counts the bytes of the regular files so far, refused
	// beyond maxFiles (see dataSlack).
	files, maxFiles int64
}

// legacyCheck verifies packages without datahash, whose identity and
// signature cover the data too and can only be checked at the end.
type legacyCheck struct {
	hashes  map[crypto.Hash]hash.Hash
	sigs    []signature
	opts    Options
	control []byte
}

// FormatError reports a malformed package.
type FormatError struct{ Msg string }

func (e *FormatError) Error() string { return e.Msg }

func formatErrorf(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

// truncated turns the errors of a cut-off or damaged stream into clear
// FormatErrors; errors of the underlying reader pass through.
func truncated(err error) error {
	var fe *FormatError
	switch {
	case err == nil || errors.As(err, &fe):
		return err
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return formatErrorf("truncated package: the file ends early")
	case isDecodeError(err):
		return formatErrorf("damaged package: %v", err)
	}
	return err
}

// isDecodeError reports errors of the gzip, deflate and tar decoders: the
// bytes are damaged, as opposed to the reader failing.
func isDecodeError(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.As(err, &ce) || errors.Is(err, tar.ErrHeader) || errors.Is(err, tar.ErrFieldTooLong)
}

type multiHash map[crypto.Hash]hash.Hash

func (m multiHash) Write(p []byte) (int, error) {
	for _, h := range m {
		h.Write(p)
	}
	return len(p), nil
}

func (m multiHash) sums() map[crypto.Hash][]byte {
	out := map[crypto.Hash][]byte{}
	for k, h := range m {
		out[k] = h.Sum(nil)
	}
	return out
}

// readMember decompresses one whole gzip member (a package's control
// part) into memory, refusing one larger than limit.
func readMember(src *memberReader, zr *gzip.Reader, limit int64, what string) ([]byte, error) {
	if err := zr.Reset(src); err != nil {
		return nil, truncated(err)
	}
	zr.Multistream(false)
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, &capReader{r: zr, n: limit, what: what}); err != nil {
		var tl *TooLargeError
		if errors.As(err, &tl) {
			return nil, err
		}
		return nil, truncated(err)
	}
	return buf.Bytes(), nil
}

// tarEntries lists the entries of a tar stream cut without its end blocks,
// as signature and control members are.
func tarEntries(data []byte, fn func(h *tar.Header, body []byte) error) error {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return formatErrorf("bad tar header: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return formatErrorf("bad tar entry %s: %v", h.Name, err)
		}
		if err := fn(h, body); err != nil {
			return err
		}
	}
}

// Open reads and verifies the signature and control parts of a package.
func Open(r io.Reader, o Options) (*Reader, error) {
	src := newMemberReader(r)

	// First member: the signatures, or the control part of an unsigned
	// package (hashed in case it is one).
	firstHash := multiHash{crypto.SHA1: sha1.New()}
	src.setSink(firstHash)
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, truncated(err)
	}
	zr.Multistream(false)
	first, err := readFirstMember(zr, "package", o, maxControlSize)
	if err != nil {
		return nil, err
	}
	sigs := first.sigs

	var control []byte
	hashes := firstHash
	if first.signed {
		hashes = multiHash{crypto.SHA1: sha1.New()}
		for _, s := range sigs {
			if _, ok := hashes[s.hash]; !ok {
				hashes[s.hash] = s.hash.New()
			}
		}
		src.setSink(hashes)
		control, err = readMember(src, zr, maxControlSize, "the control part of the package")
		if err != nil {
			return nil, err
		}
	} else {
		control = first.data
	}

	rd := &Reader{zr: zr}
	if err := rd.parseControl(control); err != nil {
		return nil, err
	}
	rd.maxFiles = 2*max(rd.Info.InstalledSize, 0) + dataSlack

	// The data part runs to the end of the file, and every byte of it is
	// hashed: from here the decompressor reads through a bufio.Reader,
	// which the deflate decoder reads fastest, with the hash fed as the
	// buffer fills.
	src.setSink(nil) // the control member's last bytes into its hashes
	var sink io.Writer
	if rd.DataHash == nil {
		// Legacy package: identity and signature cover control and data.
		rd.legacy = &legacyCheck{hashes: hashes, sigs: sigs, opts: o}
		sink = hashes
	} else {
		sums := hashes.sums()
		rd.Info.Checksum = sums[crypto.SHA1]
		signer, err := verifySignatures(sigs, sums, o.Keys)
		if err != nil && !o.AllowUntrusted {
			return nil, fmt.Errorf("package signature: %w", err)
		}
		rd.Signer = signer
		rd.dataHash = sha256.New()
		sink = rd.dataHash
	}
	data := bufio.NewReaderSize(io.TeeReader(src.rest(), sink), 64<<10)
	if err := rd.zr.Reset(data); err != nil {
		if err == io.EOF {
			return nil, formatErrorf("truncated package: no data part")
		}
		return nil, truncated(err)
	}
	rd.zr.Multistream(true)
	rd.tr = tar.NewReader(rd.zr)
	return rd, nil
}

func untrustedHint(o Options) string {
	if o.AllowUntrusted {
		return ""
	}
	return "; pass --allow-untrusted to accept it"
}

// parseControl reads .PKGINFO and the scripts.
func (rd *Reader) parseControl(control []byte) error {
	rd.Info = &apk.Package{}
	rd.Scripts = map[string][]byte{}
	sawPkgInfo := false
	err := tarEntries(control, func(h *tar.Header, body []byte) error {
		switch {
		case h.Name == ".PKGINFO":
			sawPkgInfo = true
			return rd.parsePkgInfo(body)
		case strings.HasPrefix(h.Name, "."):
			name := h.Name[1:]
			for _, s := range ScriptNames {
				if name == s {
					rd.Scripts[s] = body
				}
			}
		default:
			return formatErrorf("control part holds %q: legacy packages that mix control and data are not supported", h.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !sawPkgInfo {
		return formatErrorf("package has no .PKGINFO")
	}
	if rd.Info.Name == "" || rd.Info.Version == "" {
		return formatErrorf(".PKGINFO has no pkgname or pkgver")
	}
	if rd.Info.Uninstallable {
		return formatErrorf("package %s needs a newer apk (unknown .PKGINFO fields)", rd.Info.NameVersion())
	}
	return nil
}

var pkgInfoFields = map[string]byte{
	"pkgname": 'P', "pkgver": 'V', "pkgdesc": 'T', "url": 'U', "size": 'I',
	"license": 'L', "arch": 'A', "depend": 'D', "install_if": 'i', "provides": 'p',
	"origin": 'o', "maintainer": 'm', "builddate": 't', "commit": 'c', "provider_priority": 'k',
}

func (rd *Reader) parsePkgInfo(body []byte) error {
	text := string(body)
	for lineNo := 1; text != ""; lineNo++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, " = ")
		if !ok {
			continue
		}
		if f, ok := pkgInfoFields[key]; ok {
			if err := apk.ApplyField(rd.Info, f, value); err != nil {
				return formatErrorf(".PKGINFO line %d: %v", lineNo, err)
			}
			continue
		}
		var err error
		switch key {
		case "datahash":
			rd.DataHash, err = hex.DecodeString(value)
			if err == nil && len(rd.DataHash) != sha256.Size {
				err = errors.New("not a SHA-256")
			}
		case "replaces":
			more, _ := apk.ParseDependencies(value)
			rd.Replaces = append(rd.Replaces, more...)
		case "replaces_priority":
			rd.ReplacesPriority, err = strconv.Atoi(value)
		case "triggers":
			rd.Triggers = append(rd.Triggers, strings.Fields(value)...)
		}
		if err != nil {
			return formatErrorf(".PKGINFO line %d: %s: %v", lineNo, key, err)
		}
	}
	return nil
}

// Next advances to the next entry of the data part. At the end it checks
// the datahash (or, for a legacy package, the signature) and returns
// io.EOF.
func (rd *Reader) Next() (*tar.Header, error) {
	if rd.done {
		return nil, io.EOF
	}
	h, err := rd.tr.Next()
	if err == io.EOF {
		return nil, rd.finish()
	}
	if err != nil {
		return nil, truncated(err)
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	default:
		// Sparse files and other exotic entries are not part of the
		// package format; a sparse entry could claim terabytes.
		return nil, formatErrorf("damaged package: entry %q has unsupported type %q", h.Name, h.Typeflag)
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return nil, formatErrorf("damaged package: entry %q is a sparse file", h.Name)
		}
	}
	if h.Typeflag == tar.TypeReg {
		if rd.files += h.Size; rd.files > rd.maxFiles {
			return nil, &DataSizeError{Declared: rd.Info.InstalledSize, Limit: rd.maxFiles}
		}
	}
	return h, nil
}

// Read reads the contents of the current entry.
func (rd *Reader) Read(p []byte) (int, error) {
	n, err := rd.tr.Read(p)
	if err != nil && err != io.EOF {
		err = truncated(err)
	}
	return n, err
}

func (rd *Reader) finish() error {
	// Drain the rest of the data member(s): the end blocks and any
	// padding, so the hash covers all of it.
	if _, err := io.Copy(io.Discard, rd.zr); err != nil {
		return truncated(err)
	}
	rd.done = true
	if rd.legacy != nil {
		sums := multiHash(rd.legacy.hashes).sums()
		rd.Info.Checksum = sums[crypto.SHA1]
		signer, err := verifySignatures(rd.legacy.sigs, sums, rd.legacy.opts.Keys)
		if err != nil && !rd.legacy.opts.AllowUntrusted {
			return fmt.Errorf("package signature: %w", err)
		}
		rd.Signer = signer
		return io.EOF
	}
	if subtle.ConstantTimeCompare(rd.dataHash.Sum(nil), rd.DataHash) != 1 {
		return formatErrorf("datahash mismatch: the package's data part was modified or damaged")
	}
	return io.EOF
}
