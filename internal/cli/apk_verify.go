package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/spf13/cobra"

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
	info, signer, _, err := apkfile.VerifyFile(file, trust)
	if err != nil {
		r.Error = err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			r.Error = pe.Err.Error()
		}
		r.code = ExitFailure
		if apkfile.IsContentError(err) {
			r.code = ExitUntrusted
		}
		return r
	}
	r.OK, r.Package, r.Identity, r.Signer = true, info.NameVersion(), info.Checksum.String(), signer
	return r
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
	return apkfile.LoadTrust(dir, o.AllowUntrusted)
}
