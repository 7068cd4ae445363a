package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// APKVerifyOptions are the options of `cairn apk verify`. It has none of
// its own: the keys come from the apk group's --keys-dir and --root.
type APKVerifyOptions struct{}

// Validate checks the command line.
func (o *APKVerifyOptions) Validate(args []string) error {
	if len(args) == 0 {
		return usagef("verify needs at least one FILE.apk")
	}
	return nil
}

func newAPKVerifyCommand(g *Globals, o *APKOptions) *cobra.Command {
	vo := &APKVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [options] FILE.apk...",
		Short: "Check the signatures and checksums of package files",
		Long: `Check each package file as apk verify does: the signature over its control
part must verify with a trusted key (from --keys-dir, default
ROOT/etc/apk/keys or /etc/apk/keys), and its data part must match the
datahash the control part records. One line per file; with --quiet only
the files that fail. With --allow-untrusted a package without a trusted
signature passes if it is intact.

Exit codes: 0 all packages verified, 4 one did not, 1 a file could not be
read, 2 bad command line.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := vo.Validate(args); err != nil {
				return err
			}
			return apkError(g, runAPKVerify(cmd.Context(), o, g, args))
		},
	}
	return cmd
}

// verifyResult is one line of `cairn apk verify --json`.
type verifyResult struct {
	File     string `json:"file"`
	OK       bool   `json:"ok"`
	Package  string `json:"package,omitempty"`
	Identity string `json:"identity,omitempty"`
	// Signer is the trusted key that verified, "" when the package was
	// accepted untrusted.
	Signer string `json:"signer,omitempty"`
	Error  string `json:"error,omitempty"`

	code int
}

func runAPKVerify(ctx context.Context, o *APKOptions, g *Globals, files []string) error {
	trust, err := apkTrust(o)
	if err != nil {
		return err
	}
	results := []verifyResult{}
	failed, code := 0, ExitOK
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := verifyPackageFile(file, trust)
		results = append(results, r)
		if !r.OK {
			failed++
			code = max(code, r.code)
		}
		switch {
		case o.JSON:
		case r.OK && !o.Quiet:
			note := ""
			if r.Signer == "" {
				note = " (UNTRUSTED)"
			}
			fmt.Fprintf(g.Stdout, "%s: OK%s\n", file, note)
		case !r.OK && o.Quiet:
			fmt.Fprintln(g.Stdout, file)
		case !r.OK:
			fmt.Fprintf(g.Stdout, "%s: %s\n", file, r.Error)
		}
	}
	if o.JSON {
		if err := writeJSON(g.Stdout, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return reported(code, fmt.Errorf("%d of %d packages failed to verify", failed, len(files)))
	}
	return nil
}

// verifyPackageFile reads a whole package, which checks its signature,
// identity and datahash.
func verifyPackageFile(file string, trust apkfile.Options) verifyResult {
	r := verifyResult{File: file}
	info, signer, _, err := readAPKFile(file, trust)
	if err != nil {
		r.Error = err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			r.Error = pe.Err.Error()
		}
		r.code = ExitFailure
		if isAPKContentError(err) {
			r.code = ExitUntrusted
		}
		return r
	}
	r.OK, r.Package, r.Identity, r.Signer = true, info.NameVersion(), info.Checksum.String(), signer
	return r
}

// apkContentError marks a package file that could be read but did not
// verify: bad signature, damaged data, not a package at all.
type apkContentError struct{ err error }

func (e *apkContentError) Error() string { return e.err.Error() }
func (e *apkContentError) Unwrap() error { return e.err }

func isAPKContentError(err error) bool {
	var ce *apkContentError
	return errors.As(err, &ce)
}

// readAPKFile verifies a package file completely and returns its
// metadata, the key that verified it and its size.
func readAPKFile(file string, trust apkfile.Options) (*apk.Package, string, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, "", 0, fmt.Errorf("%s: not a regular file", file)
	}
	rd, err := apkfile.Open(bufio.NewReaderSize(f, 256<<10), trust)
	if err != nil {
		return nil, "", 0, &apkContentError{err}
	}
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			return nil, "", 0, &apkContentError{fmt.Errorf("package %s: %w", rd.Info.NameVersion(), err)}
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return nil, "", 0, &apkContentError{fmt.Errorf("package %s: %w", rd.Info.NameVersion(), err)}
		}
	}
	return rd.Info, rd.Signer, st.Size(), nil
}

// apkTrust loads the trusted keys: --keys-dir, else ROOT/etc/apk/keys,
// else /etc/apk/keys. A missing directory is an error unless untrusted
// files are allowed anyway.
func apkTrust(o *APKOptions) (apkfile.Options, error) {
	dir := o.KeysDir
	if dir == "" {
		root := o.Root
		if root == "" {
			root = "/"
		}
		dir = filepath.Join(root, "etc", "apk", "keys")
	}
	keys, err := apkfile.LoadKeyring(dir)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && o.AllowUntrusted:
		keys = apkfile.NewKeyring()
	case errors.Is(err, fs.ErrNotExist):
		return apkfile.Options{}, fmt.Errorf("no trusted keys: %s does not exist (name a keys directory with --keys-dir, or pass --allow-untrusted)", dir)
	default:
		return apkfile.Options{}, err
	}
	return apkfile.Options{Keys: keys, AllowUntrusted: o.AllowUntrusted}, nil
}
