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

// ReadIndex verifies and unpacks an APKINDEX.tar.gz. The signature
// (first gzip member) covers every byte after it.
func ReadIndex(data []byte, o Options) (*SignedIndex, error) {
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

	var sigs []signature
	isSig := false
	err = tarEntries(first, func(h *tar.Header, body []byte) error {
		if strings.HasPrefix(h.Name, ".SIGN.") {
			isSig = true
			if hsh, key, ok := signatureAlgorithm(h.Name); ok && !strings.Contains(key, "/") {
				sigs = append(sigs, signature{hash: hsh, key: key, data: body})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	idx := &SignedIndex{}
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
		idx.Signer = signer
	}

	zr2, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, truncatedIndex(err)
	}
	tr := tar.NewReader(io.LimitReader(zr2, maxIndexSize))
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, truncatedIndex(err)
		}
		switch h.Name {
		case "APKINDEX":
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, truncatedIndex(err)
			}
			idx.Text, found = string(b), true
		case "DESCRIPTION":
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, truncatedIndex(err)
			}
			idx.Description = strings.TrimSpace(string(b))
		}
	}
	if !found {
		return nil, formatErrorf("index archive has no APKINDEX file")
	}
	return idx, nil
}

func truncatedIndex(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return formatErrorf("truncated index: the file ends early")
	}
	return formatErrorf("damaged index: %v", err)
}
