package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// APKIndexOptions are the options of `cairn apk index`.
type APKIndexOptions struct {
	Output      string
	Description string
	RewriteArch string
	SignKey     string
	KeyName     string
	NoWarnings  bool
}

// Validate checks the command line.
func (o *APKIndexOptions) Validate(args []string, ao *APKOptions) error {
	switch {
	case len(args) == 0:
		return usagef("index needs at least one FILE.apk")
	case o.KeyName != "" && o.SignKey == "":
		return usagef("--key-name names the key of --sign-key, which is missing")
	case ao.JSON && o.Output == "":
		return usagef("--json needs --output: without it the index goes to standard output")
	case strings.ContainsAny(o.RewriteArch, " \t\n/"):
		return usagef("--rewrite-arch %q is not an architecture name", o.RewriteArch)
	}
	return nil
}

func newAPKIndexCommand(g *Globals, o *APKOptions) *cobra.Command {
	ix := &APKIndexOptions{}
	cmd := &cobra.Command{
		Use:   "index [options] FILE.apk...",
		Short: "Make a repository index (APKINDEX.tar.gz) of package files",
		Long: `Read and verify package files and write the index apk reads a repository by,
as apk index does: one record per package, sorted by name and version,
with the identity and file size of each file. Packages must verify with a
trusted key (--keys-dir, default ROOT/etc/apk/keys or /etc/apk/keys)
unless --allow-untrusted is given. With --sign-key the index is signed
too, as abuild-sign does; otherwise sign it with cairn apk sign.

A repository directory holds ARCH/APKINDEX.tar.gz next to the packages
ARCH/NAME-VERSION.apk, where ARCH is each record's architecture: use
--rewrite-arch ARCH to list noarch packages under the directory's.

Exit codes: 0 success, 4 a package did not verify, 1 other failures,
2 bad command line.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ix.Validate(args, o); err != nil {
				return err
			}
			return apkError(g, runAPKIndex(cmd.Context(), o, ix, g, args))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&ix.Output, "output", "o", "", "write the index to `FILE` (default standard output)")
	f.StringVarP(&ix.Description, "description", "d", "", "the repository's `DESCRIPTION`, such as a version")
	f.StringVar(&ix.RewriteArch, "rewrite-arch", "", "list every package under architecture `ARCH`")
	f.StringVar(&ix.SignKey, "sign-key", "", "sign the index with the RSA private key in `PRIVKEY.pem`")
	f.StringVar(&ix.KeyName, "key-name", "", "the public key's file `NAME` in /etc/apk/keys (default: the private key's file name + .pub)")
	f.BoolVar(&ix.NoWarnings, "no-warnings", false, "do not warn about dependencies no package provides")
	return cmd
}

// indexSummary is what `cairn apk index --json` prints.
type indexSummary struct {
	Output   string   `json:"output"`
	Packages []string `json:"packages"`
	Signer   string   `json:"signer,omitempty"`
}

func runAPKIndex(ctx context.Context, o *APKOptions, ix *APKIndexOptions, g *Globals, files []string) error {
	trust, err := apkTrust(o)
	if err != nil {
		return err
	}
	var signer *apkfile.Signer
	if ix.SignKey != "" {
		s, err := apkLoadSigner(ix.SignKey, ix.KeyName, false)
		if err != nil {
			return err
		}
		signer = &s
	}

	recs, failed, err := apkfile.IndexFiles(ctx, files, trust, ix.RewriteArch)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		code := ExitFailure
		for _, f := range failed {
			if apkfile.IsContentError(f.Err) {
				code = ExitUntrusted
			}
			fmt.Fprintf(g.Stderr, "ERROR: %s\n", f)
		}
		return reported(code, fmt.Errorf("%d of %d packages failed to verify", len(failed), len(files)))
	}
	if !ix.NoWarnings && !o.Quiet {
		warnNoProviders(g, apkfile.MissingProviders(recs))
	}

	data, err := apkfile.BuildIndexArchive(recs, ix.Description)
	if err != nil {
		return err
	}
	if signer != nil {
		if data, err = apkfile.SignIndexArchive(data, *signer); err != nil {
			return err
		}
	}
	if ix.Output == "" {
		_, err := g.Stdout.Write(data)
		return err
	}
	if err := apkReplaceFile(ix.Output, data); err != nil {
		return err
	}
	if o.JSON {
		sum := indexSummary{Output: ix.Output, Packages: []string{}}
		for _, r := range recs {
			sum.Packages = append(sum.Packages, r.NameVersion())
		}
		if signer != nil {
			sum.Signer = signer.Name
		}
		return writeJSON(g.Stdout, sum)
	}
	if !o.Quiet {
		fmt.Fprintf(g.Stdout, "Index has %d packages\n", len(recs))
	}
	return nil
}

// warnNoProviders warns, as apk index does, about names the packages
// depend on that no package of the index provides.
func warnNoProviders(g *Globals, names []string) {
	if len(names) == 0 {
		return
	}
	var b bytes.Buffer
	b.WriteString("WARNING: No provider for the dependencies:\n")
	line := " "
	for _, n := range names {
		if len(line) > 1 && len(line)+1+len(n) > 78 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + n
	}
	b.WriteString(line + "\n")
	fmt.Fprintf(&b, "WARNING: Total of %d unsatisfiable package names. Your repository may be broken.\n", len(names))
	g.Stderr.Write(b.Bytes())
}
