package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// Declared is a secret a manifest declares, as the operator's commands
// see it on the build machine.
type Declared struct {
	manifest.Secret
	// Encrypted is the age file, absolute; Recipients its directory's
	// recipients file.
	Encrypted  string
	Recipients string
}

// DeclaredIn lists the secrets of sys, whose manifest is in
// manifestDir, in the manifest's order.
func DeclaredIn(sys *manifest.System, manifestDir string) []Declared {
	var out []Declared
	for _, s := range sys.Secrets {
		file := s.File
		if !filepath.IsAbs(file) {
			file = filepath.Join(manifestDir, file)
		}
		out = append(out, Declared{Secret: s, Encrypted: file, Recipients: RecipientsPath(file)})
	}
	return out
}

// Find returns the declared secret called name.
func Find(declared []Declared, name string) (Declared, error) {
	var names []string
	for _, d := range declared {
		if d.Name == name {
			return d, nil
		}
		names = append(names, d.Name)
	}
	if len(names) == 0 {
		return Declared{}, fmt.Errorf("the manifest declares no secret %q (and no secret at all): add it under secrets: first", name)
	}
	return Declared{}, fmt.Errorf("the manifest declares no secret %q (it declares %s): add it under secrets: first", name, strings.Join(names, ", "))
}

// RecipientsFiles are the distinct recipients files of the secrets, in
// order.
func RecipientsFiles(declared []Declared) []string {
	var out []string
	for _, d := range declared {
		if !slices.Contains(out, d.Recipients) {
			out = append(out, d.Recipients)
		}
	}
	return out
}

// Info is what the operator sees of a declared secret without
// decrypting it.
type Info struct {
	Name           string   `json:"name"`
	File           string   `json:"file"`
	RecipientsFile string   `json:"recipientsFile"`
	Path           string   `json:"path"`
	Owner          string   `json:"owner"`
	Mode           string   `json:"mode"`
	Services       []string `json:"services"`
	// EncryptedTo is what the file's header says (nil when there is no
	// readable file).
	EncryptedTo *Encryption `json:"encryptedTo"`
	// Recipients are those of the recipients file now.
	Recipients []Recipient `json:"recipients"`
	// InLine says the file is encrypted to exactly Recipients; otherwise
	// cairn secrets rekey brings it in line.
	InLine  bool   `json:"inLine"`
	Problem string `json:"problem,omitempty"`
}

// Inspect reads what d is encrypted to and whether that is its
// recipients file's list.
func Inspect(d Declared) Info {
	info := Info{Name: d.Name, File: d.Encrypted, RecipientsFile: d.Recipients, Path: d.SecretPath(), Owner: d.Owner, Mode: d.Mode,
		Services: append([]string{}, d.Services...), Recipients: []Recipient{}}
	rs, rerr := ReadRecipients(d.Recipients)
	if rerr == nil {
		info.Recipients = rs
	}
	data, err := os.ReadFile(d.Encrypted)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		info.Problem = "no such file: cairn secrets edit " + d.Name + " makes it"
		return info
	case err != nil:
		info.Problem = err.Error()
		return info
	}
	enc, err := Describe(data, rs)
	if err != nil {
		info.Problem = fmt.Sprintf("%v: encrypt it with cairn secrets edit %s", err, d.Name)
		return info
	}
	info.EncryptedTo = &enc
	switch {
	case rerr != nil:
		info.Problem = rerr.Error()
	case !enc.Same(rs):
		info.Problem = "not encrypted to the recipients file's keys: cairn secrets rekey brings it in line"
	default:
		info.InLine = true
	}
	return info
}

// Editor edits the file at path in place; an error (the editor exiting
// non-zero) abandons the edit.
type Editor func(path string) error

// Edit is one edit of a secret.
type Edit struct {
	Secret     Declared
	Identities []Identity
	// Editor edits the plaintext; Content, when not nil, replaces it
	// instead (a secret set from a file or standard input).
	Editor  Editor
	Content []byte
	// TempDir is where the private directory of the plaintext is made:
	// $XDG_RUNTIME_DIR or $TMPDIR as the caller finds them ("" is Go's
	// os.TempDir).
	TempDir string
}

// EditResult says what an edit did.
type EditResult struct {
	Name string `json:"name"`
	File string `json:"file"`
	// State is "created", "changed" (the plaintext, or the recipients,
	// changed: the file is re-encrypted) or "unchanged" (nothing
	// written).
	State string      `json:"state"`
	To    []Recipient `json:"to"`
}

// Run decrypts the secret (when it exists) into a private temporary file
// (0600 in a 0700 directory), lets the editor change it, and encrypts
// the result to the recipients file's keys. The temporary directory is
// removed when Run returns, whatever happened.
func (e *Edit) Run(ctx context.Context) (res EditResult, err error) {
	d := e.Secret
	res = EditResult{Name: d.Name, File: d.Encrypted, To: []Recipient{}}
	to, err := ReadRecipients(d.Recipients)
	if err != nil {
		return res, err
	}
	var old []byte
	var enc Encryption
	data, err := os.ReadFile(d.Encrypted)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.State = "created"
	case err != nil:
		return res, err
	default:
		if enc, err = Describe(data, to); err != nil {
			return res, fmt.Errorf("%s: %w", d.Encrypted, err)
		}
		if old, err = decryptOwn(d, data, enc, e.Identities); err != nil {
			return res, err
		}
		defer clear(old)
	}
	var plain []byte
	if e.Content != nil {
		plain = e.Content
	} else {
		if plain, err = e.edit(old); err != nil {
			return res, err
		}
		defer clear(plain)
	}
	if res.State == "" {
		if bytes.Equal(plain, old) && enc.Same(to) {
			res.State, res.To = "unchanged", enc.To
			return res, nil
		}
		res.State = "changed"
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	ct, err := Encrypt(plain, to)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Dir(d.Encrypted), 0o755); err != nil {
		return res, err
	}
	if err := writeFileAtomic(d.Encrypted, ct, 0o644); err != nil {
		return res, err
	}
	res.To = to
	return res, nil
}

// edit runs the editor on a private copy of old and returns what it
// left. The copy's directory is removed before edit returns.
func (e *Edit) edit(old []byte) ([]byte, error) {
	if e.Editor == nil {
		return nil, errors.New("no editor")
	}
	dir, err := os.MkdirTemp(e.TempDir, "cairn-secret-")
	if err != nil {
		return nil, fmt.Errorf("a private temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, e.Secret.Name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(old)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := e.Editor(tmp); err != nil {
		return nil, fmt.Errorf("the editor: %w: the secret is left as it was", err)
	}
	plain, err := os.ReadFile(tmp)
	if err != nil {
		return nil, fmt.Errorf("the edited file: %w", err)
	}
	return plain, nil
}

// decryptOwn decrypts a secret with the operator's identities, saying
// whose keys would do when none of them does.
func decryptOwn(d Declared, data []byte, enc Encryption, ids []Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: no identity to decrypt it with: give one with --identity (an age identity file or an SSH private key), or set CAIRN_IDENTITY", d.Encrypted)
	}
	plain, err := Decrypt(data, ageIdentities(ids))
	if noMatch(err) {
		var mine []string
		for _, id := range ids {
			mine = append(mine, id.Recipient.Kind()+" "+id.Recipient.Fingerprint()+" ("+id.File+")")
		}
		return nil, fmt.Errorf("%s: none of your identities decrypts it (%s): it is encrypted to %s", d.Encrypted, strings.Join(mine, ", "), enc)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Encrypted, err)
	}
	return plain, nil
}

// RekeyResult is one secret's rekey.
type RekeyResult struct {
	Name string `json:"name"`
	File string `json:"file"`
	// State is "rekeyed", "inLine" (already encrypted to exactly its
	// recipients: left alone) or "failed".
	State string      `json:"state"`
	To    []Recipient `json:"to"`
	Error string      `json:"error,omitempty"`
}

// Rekey re-encrypts each secret for its recipients file's keys: those
// encrypted to other keys, or all with all. A secret that fails does not
// stop the others; the error names every failure.
func Rekey(ctx context.Context, declared []Declared, ids []Identity, all bool) ([]RekeyResult, error) {
	var out []RekeyResult
	var errs []error
	for _, d := range declared {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r, err := rekeyOne(d, ids, all)
		if err != nil {
			r.State, r.Error = "failed", err.Error()
			errs = append(errs, fmt.Errorf("secret %s: %w", d.Name, err))
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func rekeyOne(d Declared, ids []Identity, all bool) (RekeyResult, error) {
	r := RekeyResult{Name: d.Name, File: d.Encrypted, To: []Recipient{}}
	to, err := ReadRecipients(d.Recipients)
	if err != nil {
		return r, err
	}
	data, err := os.ReadFile(d.Encrypted)
	if errors.Is(err, fs.ErrNotExist) {
		return r, fmt.Errorf("%s: no such file: cairn secrets edit %s makes it", d.Encrypted, d.Name)
	}
	if err != nil {
		return r, err
	}
	enc, err := Describe(data, to)
	if err != nil {
		return r, fmt.Errorf("%s: %w", d.Encrypted, err)
	}
	if enc.Same(to) && !all {
		r.State, r.To = "inLine", enc.To
		return r, nil
	}
	plain, err := decryptOwn(d, data, enc, ids)
	if err != nil {
		return r, err
	}
	defer clear(plain)
	ct, err := Encrypt(plain, to)
	if err != nil {
		return r, err
	}
	if err := writeFileAtomic(d.Encrypted, ct, 0o644); err != nil {
		return r, err
	}
	r.State, r.To = "rekeyed", to
	return r, nil
}
