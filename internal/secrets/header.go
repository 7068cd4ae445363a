package secrets

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// labelType is the stanza cairn adds to the header of each file it
// encrypts, one per recipient, saying in the clear which key the file is
// encrypted to: age's own X25519 stanzas do not tell (only SSH stanzas
// carry a tag of their key). age ignores stanzas of types it does not
// know, so age, rage and agenix still decrypt the file; the header's MAC
// covers the labels, so they cannot be changed without re-encrypting.
const labelType = "cairn-recipient"

// stanza is one recipient stanza of an age header, without its body.
type stanza struct {
	Type string
	Args []string
}

// ErrNotAge is returned for data that is not an age-encrypted file.
var ErrNotAge = errors.New("not an age-encrypted file")

// MaxSize bounds a secret file: secrets are keys, passwords and
// small configuration files, and the node holds them in memory.
const MaxSize = 16 << 20

// binaryAge returns the binary form of an age file, unwrapping ASCII
// armor.
func binaryAge(data []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte(armor.Header)) {
		return data, nil
	}
	out, err := io.ReadAll(io.LimitReader(armor.NewReader(bytes.NewReader(trimmed)), MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: its armor: %v", ErrNotAge, err)
	}
	return out, nil
}

// readHeader returns the recipient stanzas of an age file (binary or
// armored). The header is checked as age checks it before it is read.
func readHeader(data []byte) ([]stanza, error) {
	bin, err := binaryAge(data)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(bin, []byte("age-encryption.org/")) {
		return nil, ErrNotAge
	}
	hdr, err := age.ExtractHeader(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAge, err)
	}
	// ExtractHeader gave the header back in canonical form: a version
	// line, stanzas ("-> type args", then base64 lines, the last one
	// shorter than 64 columns), and "--- mac".
	var out []stanza
	sc := bufio.NewScanner(bytes.NewReader(hdr))
	sc.Buffer(make([]byte, 4096), len(hdr)+1)
	inBody := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inBody:
			inBody = len(line) == 64
		case strings.HasPrefix(line, "-> "):
			f := strings.Split(line[3:], " ")
			out = append(out, stanza{Type: f[0], Args: f[1:]})
			inBody = true
		}
	}
	return out, sc.Err()
}

// IsAge reports whether data is an age-encrypted file whose header
// reads.
func IsAge(data []byte) bool {
	_, err := readHeader(data)
	return err == nil
}

// Encryption is what an age file says it is encrypted to, read from its
// header without decrypting it.
type Encryption struct {
	// To are the recipients the file is encrypted to, as far as its
	// header tells: cairn's labels (an SSH label checked against its
	// stanza's tag), and SSH stanzas whose tag matches a known key.
	To []Recipient `json:"to"`
	// Unknown describes stanzas whose key the header does not tell (a
	// file encrypted to age keys by another tool).
	Unknown []string `json:"unknown,omitempty"`
	// Labeled says cairn wrote the file (its header names its keys).
	Labeled bool `json:"labeled"`
}

// Describe reads what the age file data is encrypted to. known are keys
// to recognise SSH stanzas by and to take names from (a recipients
// file).
func Describe(data []byte, known []Recipient) (Encryption, error) {
	stanzas, err := readHeader(data)
	if err != nil {
		return Encryption{}, err
	}
	var enc Encryption
	var labels []Recipient
	for _, s := range stanzas {
		if s.Type == labelType {
			enc.Labeled = true
			if r, err := ParseRecipient(strings.Join(s.Args, " ")); err == nil {
				labels = append(labels, r)
			}
		}
	}
	used := make([]bool, len(labels))
	// claim takes the first unused label that fits.
	claim := func(fits func(Recipient) bool) (Recipient, bool) {
		for i, l := range labels {
			if !used[i] && fits(l) {
				used[i] = true
				return l, true
			}
		}
		return Recipient{}, false
	}
	for _, s := range stanzas {
		switch s.Type {
		case labelType:
		case "X25519":
			if r, ok := claim(func(l Recipient) bool { return l.Kind() == KindAge }); ok {
				enc.To = append(enc.To, r)
			} else {
				enc.Unknown = append(enc.Unknown, "an age key (X25519: its header does not say which)")
			}
		case "mlkem768x25519":
			if r, ok := claim(func(l Recipient) bool { return l.Kind() == KindAgePQ }); ok {
				enc.To = append(enc.To, r)
			} else {
				enc.Unknown = append(enc.Unknown, "a post-quantum age key (its header does not say which)")
			}
		case KindSSHEd25519, KindSSHRSA:
			tag := ""
			if len(s.Args) > 0 {
				tag = s.Args[0]
			}
			fits := func(l Recipient) bool { return l.Kind() == s.Type && l.sshTag() == tag }
			if r, ok := claim(fits); ok {
				enc.To = append(enc.To, r)
			} else if i := slices.IndexFunc(known, fits); i >= 0 {
				enc.To = append(enc.To, known[i])
			} else {
				enc.Unknown = append(enc.Unknown, fmt.Sprintf("an %s key with tag %s, not among the known keys", s.Type, tag))
			}
		case "scrypt":
			enc.Unknown = append(enc.Unknown, "a passphrase")
		default:
			enc.Unknown = append(enc.Unknown, fmt.Sprintf("a %q stanza (an age plugin's key, or padding)", s.Type))
		}
	}
	for i := range enc.To {
		if j := slices.IndexFunc(known, func(k Recipient) bool { return k.Key == enc.To[i].Key }); j >= 0 && known[j].Name != "" {
			enc.To[i].Name = known[j].Name
		}
	}
	return enc, nil
}

// Same reports whether the file is encrypted to exactly the keys of
// want, and to nothing else.
func (e Encryption) Same(want []Recipient) bool {
	if len(e.Unknown) > 0 || len(e.To) != len(want) {
		return false
	}
	keys := func(rs []Recipient) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Key)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(keys(e.To), keys(want))
}

// Describe lists the recipients for a message: "alice (age age1...),
// node-1 (ssh-ed25519 SHA256:...)".
func (e Encryption) String() string {
	var parts []string
	for _, r := range e.To {
		parts = append(parts, r.String())
	}
	parts = append(parts, e.Unknown...)
	if len(parts) == 0 {
		return "no one"
	}
	return strings.Join(parts, ", ")
}
