package apkfile

import (
	"archive/tar"
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"strings"
)

// SignedIndex is the content of a verified APKINDEX.tar.gz.
type SignedIndex struct {
	// Text is the APKINDEX file: the package records.
	Text string
	// Description is the repository's description (DESCRIPTION).
	Description string
	// Signer is the key whose signature verified, "" if untrusted indexes
	// were allowed and none did.
	Signer string
}

// IndexReader streams the APKINDEX text of a verified index archive.
type IndexReader struct {
	// Description is the repository's description, when the archive holds
	// it before the index (as apk writes it).
	Description string
	// Signer is the key whose signature verified, "" if untrusted indexes
	// were allowed and none did.
	Signer string
	tr     *tar.Reader
}

// Read reads the APKINDEX text.
func (ir *IndexReader) Read(p []byte) (int, error) {
	n, err := ir.tr.Read(p)
	if err != nil && err != io.EOF {
		err = truncatedIndex(err)
	}
	return n, err
}

// OpenIndex verifies an APKINDEX.tar.gz (the signature in its first gzip
// member covers every byte after it) and returns a reader positioned at its
// APKINDEX text, which is decompressed as it is read. The signature part
// is read within maxSignaturePart, an unsigned index is refused before
// anything else of it is read (unless untrusted indexes are allowed), and
// the text is refused beyond maxIndexSize.
func OpenIndex(data []byte, o Options) (*IndexReader, error) {
	br := bytes.NewReader(data)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, formatErrorf("index is not gzip data: %v", err)
	}
	zr.Multistream(false)
	first, err := readFirstMember(zr, "index", o, 0)
	if err != nil {
		return nil, err
	}

	ir := &IndexReader{}
	body := data
	if first.signed {
		rest := data[len(data)-br.Len():]
		digests := map[crypto.Hash][]byte{}
		for _, s := range first.sigs {
			if _, ok := digests[s.hash]; !ok {
				h := s.hash.New()
				h.Write(rest)
				digests[s.hash] = h.Sum(nil)
			}
		}
		signer, err := verifySignatures(first.sigs, digests, o.Keys)
		if err != nil && !o.AllowUntrusted {
			return nil, fmt.Errorf("index signature: %w", err)
		}
		ir.Signer = signer
		body = rest
	}

	zr2, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, truncatedIndex(err)
	}
	ir.tr = tar.NewReader(&capReader{r: zr2, n: maxIndexSize, what: "the APKINDEX text of the index"})
	for {
		h, err := ir.tr.Next()
		if err == io.EOF {
			return nil, formatErrorf("index archive has no APKINDEX file")
		}
		if err != nil {
			return nil, truncatedIndex(err)
		}
		switch h.Name {
		case "APKINDEX":
			return ir, nil
		case "DESCRIPTION":
			b, err := io.ReadAll(io.LimitReader(ir.tr, 4096))
			if err != nil {
				return nil, truncatedIndex(err)
			}
			ir.Description = strings.TrimSpace(string(b))
		}
	}
}

// ReadIndex verifies and unpacks an APKINDEX.tar.gz whole.
func ReadIndex(data []byte, o Options) (*SignedIndex, error) {
	ir, err := OpenIndex(data, o)
	if err != nil {
		return nil, err
	}
	text, err := io.ReadAll(ir)
	if err != nil {
		return nil, err
	}
	return &SignedIndex{Text: string(text), Description: ir.Description, Signer: ir.Signer}, nil
}

func truncatedIndex(err error) error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return err
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return formatErrorf("truncated index: the file ends early")
	}
	return formatErrorf("damaged index: %v", err)
}
