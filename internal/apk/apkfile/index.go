package apkfile

import (
	"archive/tar"
	"bytes"
	"crypto"
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

const maxIndexSize = 256 << 20

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
// APKINDEX text, which is decompressed as it is read.
func OpenIndex(data []byte, o Options) (*IndexReader, error) {
	br := bytes.NewReader(data)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, formatErrorf("index is not gzip data: %v", err)
	}
	zr.Multistream(false)
	first, err := io.ReadAll(io.LimitReader(zr, maxIndexSize))
	if err != nil {
		return nil, truncatedIndex(err)
	}
	rest := data[len(data)-br.Len():]

	sigs, isSig, err := readSignatures(first)
	if err != nil {
		return nil, err
	}

	ir := &IndexReader{}
	body := rest
	if !isSig {
		if !o.AllowUntrusted {
			return nil, fmt.Errorf("index signature: %w%s", ErrUnsigned, untrustedHint(o))
		}
		body = data
	} else {
		digests := map[crypto.Hash][]byte{}
		for _, s := range sigs {
			if _, ok := digests[s.hash]; !ok {
				h := s.hash.New()
				h.Write(rest)
				digests[s.hash] = h.Sum(nil)
			}
		}
		signer, err := verifySignatures(sigs, digests, o.Keys)
		if err != nil && !o.AllowUntrusted {
			return nil, fmt.Errorf("index signature: %w", err)
		}
		ir.Signer = signer
	}

	zr2, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, truncatedIndex(err)
	}
	ir.tr = tar.NewReader(io.LimitReader(zr2, maxIndexSize))
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
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return formatErrorf("truncated index: the file ends early")
	}
	return formatErrorf("damaged index: %v", err)
}
