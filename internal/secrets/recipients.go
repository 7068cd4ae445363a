package secrets

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// RecipientsFileName is the file, in the directory of a set of secrets,
// that lists who they are encrypted to: age's recipients-file syntax
// (`age -R` reads it), one public key a line, `#` comments.
const RecipientsFileName = "recipients"

// Recipient is a public key secrets are encrypted to: an operator's age
// or SSH key, or a node's identity.
type Recipient struct {
	// Name says whose key it is: the comment of an SSH key's line, or the
	// comment line just above an age key in the recipients file.
	Name string `json:"name,omitempty"`
	// Key is the key in canonical form: "age1..." or "ssh-ed25519 AAAA..."
	// (type and key, without a comment).
	Key string `json:"key"`
}

// Kinds of recipient.
const (
	KindAge        = "age"         // X25519, age1...
	KindAgePQ      = "age-pq"      // ML-KEM-768 + X25519, age1pq1...
	KindSSHEd25519 = "ssh-ed25519" // an OpenSSH Ed25519 key
	KindSSHRSA     = "ssh-rsa"     // an OpenSSH RSA key
)

// recipientName is what a recipient may be called: one word.
var recipientName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`)

// ParseRecipient reads one public key: an age recipient (age1...,
// age1pq1...) or an OpenSSH public key line (ssh-ed25519 or ssh-rsa; its
// comment becomes the name).
func ParseRecipient(s string) (Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "AGE-SECRET-KEY-"), strings.Contains(s, "PRIVATE KEY"):
		// Never echo it: it is a private key.
		return Recipient{}, errors.New("this is a private key, not a public one: give the recipient (age1... or ssh-ed25519 AAAA...), which age-keygen -y or ssh-keygen -y prints")
	case strings.HasPrefix(s, "age1"):
		rs, err := age.ParseRecipients(strings.NewReader(s))
		if err != nil || len(rs) != 1 {
			return Recipient{}, fmt.Errorf("%q is not an age public key (age1...)", s)
		}
		return Recipient{Key: s}, nil
	case strings.HasPrefix(s, "ssh-"):
		pk, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil || len(bytes.TrimSpace(rest)) > 0 {
			return Recipient{}, fmt.Errorf("%q is not an OpenSSH public key line", s)
		}
		if t := pk.Type(); t != KindSSHEd25519 && t != KindSSHRSA {
			return Recipient{}, fmt.Errorf("%s keys cannot be age recipients: use an ssh-ed25519 (or ssh-rsa) key, or an age key", t)
		}
		r := Recipient{Key: pk.Type() + " " + base64.StdEncoding.EncodeToString(pk.Marshal())}
		if recipientName.MatchString(comment) {
			r.Name = comment
		}
		if _, err := r.age(); err != nil {
			return Recipient{}, err
		}
		return r, nil
	}
	return Recipient{}, fmt.Errorf("%q is not a public key: give an age recipient (age1...) or an OpenSSH public key (ssh-ed25519 AAAA...)", firstWord(s))
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// Kind is the recipient's kind (KindAge...).
func (r Recipient) Kind() string {
	switch {
	case strings.HasPrefix(r.Key, "age1pq1"):
		return KindAgePQ
	case strings.HasPrefix(r.Key, "age1"):
		return KindAge
	}
	return firstWord(r.Key)
}

// age is the recipient for age's Encrypt.
func (r Recipient) age() (age.Recipient, error) {
	if strings.HasPrefix(r.Key, "ssh-") {
		a, err := agessh.ParseRecipient(r.Key)
		if err != nil {
			return nil, fmt.Errorf("recipient %s: %w", r, err)
		}
		return a, nil
	}
	rs, err := age.ParseRecipients(strings.NewReader(r.Key))
	if err != nil {
		return nil, fmt.Errorf("recipient %s: %w", r, err)
	}
	return rs[0], nil
}

// sshKey is an SSH recipient's key.
func (r Recipient) sshKey() (ssh.PublicKey, bool) {
	if !strings.HasPrefix(r.Key, "ssh-") {
		return nil, false
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(r.Key))
	return pk, err == nil
}

// Fingerprint identifies the key in messages: SHA256:... as ssh-keygen
// -l prints it for SSH keys, the key itself for age keys (it is short).
func (r Recipient) Fingerprint() string {
	if pk, ok := r.sshKey(); ok {
		return ssh.FingerprintSHA256(pk)
	}
	if r.Kind() == KindAgePQ && len(r.Key) > 24 {
		return r.Key[:16] + "…" + r.Key[len(r.Key)-8:]
	}
	return r.Key
}

// sshTag is the four-byte tag age writes into an SSH recipient's stanza.
func (r Recipient) sshTag() string {
	pk, ok := r.sshKey()
	if !ok {
		return ""
	}
	h := sha256.Sum256(pk.Marshal())
	return base64.RawStdEncoding.EncodeToString(h[:4])
}

// String is the name and the fingerprint: `alice (age1...)`.
func (r Recipient) String() string {
	if r.Name == "" {
		return r.Kind() + " " + r.Fingerprint()
	}
	return r.Name + " (" + r.Kind() + " " + r.Fingerprint() + ")"
}

// RecipientsError is a recipients file that cannot be read as one.
type RecipientsError struct {
	File string
	Line int
	Err  error
}

func (e *RecipientsError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *RecipientsError) Unwrap() error { return e.Err }

// RecipientsPath is the recipients file of the secret file secret: the
// file named RecipientsFileName in its directory.
func RecipientsPath(secret string) string {
	return filepath.Join(filepath.Dir(secret), RecipientsFileName)
}

// ReadRecipients reads a recipients file. A missing file is an error
// that says how to add a key.
func ReadRecipients(file string) ([]Recipient, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &RecipientsError{File: file, Err: errors.New("no such file: add the keys the secrets here are for with cairn secrets add-key")}
	}
	if err != nil {
		return nil, err
	}
	rs, err := parseRecipients(file, data)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, &RecipientsError{File: file, Err: errors.New("no recipients: add a key with cairn secrets add-key")}
	}
	return rs, nil
}

// parseRecipients reads the lines of a recipients file. An age key is
// named by the comment line just above it; an SSH key by its comment.
func parseRecipients(file string, data []byte) ([]Recipient, error) {
	var out []Recipient
	seen := map[string]int{}
	comment := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			comment = ""
			continue
		case strings.HasPrefix(line, "#"):
			comment = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			continue
		}
		r, err := ParseRecipient(line)
		if err != nil {
			return nil, &RecipientsError{File: file, Line: n, Err: err}
		}
		if r.Name == "" && recipientName.MatchString(comment) {
			r.Name = comment
		}
		comment = ""
		if first, dup := seen[r.Key]; dup {
			return nil, &RecipientsError{File: file, Line: n, Err: fmt.Errorf("the key of line %d again: keep one", first)}
		}
		seen[r.Key] = n
		out = append(out, r)
	}
	return out, sc.Err()
}

// recipientsHeader starts a recipients file cairn makes.
const recipientsHeader = `# Who the secrets in this directory are encrypted to: one public key a line,
# an age key named by the comment above it, an SSH key by its comment.
# cairn secrets add-key and remove-key change it; cairn secrets rekey then
# re-encrypts the secrets for it. age -R reads it too.
`

// AddRecipient adds r, which must have a name, to the recipients file
// (made when missing). It reports false when the file has the key
// already under that name; the same key under another name, or the name
// for another key, is an error.
func AddRecipient(file string, r Recipient) (bool, error) {
	if !recipientName.MatchString(r.Name) {
		return false, fmt.Errorf("%q is not a name for a key: use letters, digits and . _ @ + -, like node-1 or alice", r.Name)
	}
	data, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	existing, err := parseRecipients(file, data)
	if err != nil {
		return false, err
	}
	for _, e := range existing {
		switch {
		case e.Key == r.Key && e.Name == r.Name:
			return false, nil
		case e.Key == r.Key:
			return false, &RecipientsError{File: file, Err: fmt.Errorf("has this key already, as %q", e.Name)}
		case e.Name == r.Name:
			return false, &RecipientsError{File: file, Err: fmt.Errorf("has a key named %s already (%s): remove it first (cairn secrets remove-key %s) to replace it", r.Name, e.Fingerprint(), r.Name)}
		}
	}
	var b bytes.Buffer
	if len(data) == 0 {
		b.WriteString(recipientsHeader)
	} else {
		b.Write(data)
		if data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	if r.Kind() == KindAge || r.Kind() == KindAgePQ {
		fmt.Fprintf(&b, "# %s\n%s\n", r.Name, r.Key)
	} else {
		fmt.Fprintf(&b, "%s %s\n", r.Key, r.Name)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return false, err
	}
	return true, writeFileAtomic(file, b.Bytes(), 0o644)
}

// RemoveRecipient removes the key named name (or whose key or
// fingerprint is name) from the recipients file, with the comment line
// naming it. It reports false when the file has no such key.
func RemoveRecipient(file, name string) (bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := parseRecipients(file, data); err != nil {
		return false, err
	}
	lines := strings.SplitAfter(string(data), "\n")
	var out []string
	removed := false
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			out = append(out, lines[i])
			continue
		}
		r, _ := ParseRecipient(line)
		if r.Name == "" && len(out) > 0 {
			if prev := strings.TrimSpace(out[len(out)-1]); strings.HasPrefix(prev, "#") {
				if c := strings.TrimSpace(strings.TrimPrefix(prev, "#")); recipientName.MatchString(c) {
					r.Name = c
				}
			}
		}
		if r.Name != name && r.Key != name && r.Fingerprint() != name {
			out = append(out, lines[i])
			continue
		}
		removed = true
		if r.Kind() == KindAge || r.Kind() == KindAgePQ {
			if n := len(out); n > 0 && strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out[n-1]), "#")) == r.Name && r.Name != "" {
				out = out[:n-1] // the comment naming it
			}
		}
	}
	if !removed {
		return false, nil
	}
	return true, writeFileAtomic(file, []byte(strings.Join(out, "")), 0o644)
}

// writeFileAtomic replaces file with data: written beside it, synced,
// renamed.
func writeFileAtomic(file string, data []byte, perm os.FileMode) error {
	return rootfs.WriteFileAt(file, data, rootfs.WriteOptions{Perm: uint32(perm.Perm()), Sync: true})
}

// KeyChange is what adding a key to recipients files, or removing one,
// changed.
type KeyChange struct {
	Recipient Recipient `json:"recipient"`
	// Files are the recipients files changed; Unchanged those that had
	// the key already (add) or did not have it (remove).
	Files     []string `json:"files"`
	Unchanged []string `json:"unchanged"`
}

// AddKey adds r to each recipients file (AddRecipient).
func AddKey(r Recipient, files []string) (KeyChange, error) {
	return changeRecipients(r, files, func(f string) (bool, error) { return AddRecipient(f, r) })
}

// RemoveKey removes the key named name (or given by its key or
// fingerprint) from each recipients file (RemoveRecipient).
func RemoveKey(name string, files []string) (KeyChange, error) {
	return changeRecipients(Recipient{Name: name}, files, func(f string) (bool, error) { return RemoveRecipient(f, name) })
}

// changeRecipients changes each recipients file with change, which says
// whether it changed the file.
func changeRecipients(r Recipient, files []string, change func(string) (bool, error)) (KeyChange, error) {
	rep := KeyChange{Recipient: r, Files: []string{}, Unchanged: []string{}}
	for _, f := range files {
		changed, err := change(f)
		if err != nil {
			return rep, err
		}
		if changed {
			rep.Files = append(rep.Files, f)
		} else {
			rep.Unchanged = append(rep.Unchanged, f)
		}
	}
	return rep, nil
}

// ParseKeyFile reads the public key of a key file: an age recipient or an
// OpenSSH .pub file, its first line that is not a comment.
func ParseKeyFile(data []byte) (Recipient, error) {
	s := string(data)
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return ParseRecipient(l)
		}
	}
	return ParseRecipient(s)
}
