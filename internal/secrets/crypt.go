package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// Encrypt encrypts plaintext to the recipients, in age's binary format,
// with a label stanza naming each recipient (labelType).
func Encrypt(plaintext []byte, to []Recipient) ([]byte, error) {
	if len(to) == 0 {
		return nil, errors.New("no recipients: add a key with cairn secrets add-key")
	}
	if len(plaintext) > MaxSize {
		return nil, fmt.Errorf("the secret is larger than %d MiB: secrets are held in the node's memory", MaxSize>>20)
	}
	var rs []age.Recipient
	pq := false
	for _, r := range to {
		a, err := r.age()
		if err != nil {
			return nil, err
		}
		rs = append(rs, a)
		pq = pq || r.Kind() == KindAgePQ
	}
	rs = append(rs, labels{to: to, pq: pq})
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// labels is the pseudo-recipient that writes the label stanzas. It
// wraps nothing: its stanzas carry no key material.
type labels struct {
	to []Recipient
	pq bool
}

func (l labels) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, _, err := l.WrapWithLabels(fileKey)
	return s, err
}

// WrapWithLabels gives age the labels of the real recipients (age
// refuses to mix recipients whose labels differ): "postquantum" when
// they are post-quantum keys.
func (l labels) WrapWithLabels([]byte) ([]*age.Stanza, []string, error) {
	var out []*age.Stanza
	for _, r := range l.to {
		out = append(out, &age.Stanza{Type: labelType, Args: strings.Fields(r.Key)})
	}
	if l.pq {
		return out, []string{"postquantum"}, nil
	}
	return out, nil, nil
}

// Decrypt decrypts an age file (binary or armored) with the first of ids
// that fits. An error wrapping *age.NoIdentityMatchError says that none
// did.
func Decrypt(data []byte, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, errors.New("no identity to decrypt with")
	}
	bin, err := binaryAge(data)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(bin), ids...)
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if len(out) > MaxSize {
		return nil, fmt.Errorf("the secret is larger than %d MiB: secrets are held in memory", MaxSize>>20)
	}
	return out, nil
}

// noMatch reports whether err says that no identity fits the file.
func noMatch(err error) bool {
	var nm *age.NoIdentityMatchError
	return errors.As(err, &nm)
}
