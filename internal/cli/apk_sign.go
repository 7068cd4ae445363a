package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// APKSignOptions are the options of `cairn apk sign`.
type APKSignOptions struct {
	Key     string
	KeyName string
	SHA256  bool
}

// Validate checks the command line.
func (o *APKSignOptions) Validate(args []string) error {
	switch {
	case o.Key == "":
		return usagef("sign needs --key PRIVKEY.pem")
	case len(args) == 0:
		return usagef("sign needs at least one INDEX.tar.gz")
	}
	return nil
}

func newAPKSignCommand(g *Globals, o *APKOptions) *cobra.Command {
	so := &APKSignOptions{}
	cmd := &cobra.Command{
		Use:   "sign --key PRIVKEY.pem [options] INDEX.tar.gz...",
		Short: "Sign repository indexes in place, as abuild-sign does",
		Long: `Sign each APKINDEX.tar.gz (or DIR/APKINDEX.tar.gz for a directory) with an
RSA private key: a signature over the whole index is put in front of it,
replacing an earlier signature. apk looks the public key up by its file
name in /etc/apk/keys; --key-name gives that name, by default the private
key's file name with .pub appended (abuild-keygen's convention). --sha256
makes an RSA256 signature instead of the classic RSA (SHA-1) one.

Exit codes: 0 success, 1 failure, 2 bad command line.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := so.Validate(args); err != nil {
				return err
			}
			return apkError(g, runAPKSign(cmd.Context(), o, so, g, args))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&so.Key, "key", "k", "", "the RSA private key `PRIVKEY.pem` (PKCS#1 or PKCS#8 PEM)")
	f.StringVar(&so.KeyName, "key-name", "", "the public key's file `NAME` in /etc/apk/keys (default: the private key's file name + .pub)")
	f.BoolVar(&so.SHA256, "sha256", false, "sign with SHA-256 (RSA256) instead of SHA-1")
	return cmd
}

// signedFile is one entry of `cairn apk sign --json`.
type signedFile struct {
	File string `json:"file"`
	Key  string `json:"key"`
}

func runAPKSign(ctx context.Context, o *APKOptions, so *APKSignOptions, g *Globals, files []string) error {
	signer, err := apkLoadSigner(so.Key, so.KeyName, so.SHA256)
	if err != nil {
		return err
	}
	done := []signedFile{}
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st, err := os.Stat(file); err == nil && st.IsDir() {
			file = filepath.Join(file, "APKINDEX.tar.gz")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		signed, err := apkfile.SignIndexArchive(data, signer)
		if err != nil {
			// Not an index: the wrong file was named, nothing failed to verify.
			return withCode(ExitFailure, fmt.Errorf("%s: %w", file, err))
		}
		if err := apkReplaceFile(file, signed); err != nil {
			return err
		}
		done = append(done, signedFile{File: file, Key: signer.Name})
		if !o.JSON && !o.Quiet {
			fmt.Fprintf(g.Stdout, "Signed %s\n", file)
		}
	}
	if o.JSON {
		return writeJSON(g.Stdout, done)
	}
	return nil
}

// apkLoadSigner reads an RSA private key. The key name defaults to the
// key's file name plus ".pub", as abuild-sign names it.
func apkLoadSigner(keyFile, name string, sha256 bool) (apkfile.Signer, error) {
	pemData, err := os.ReadFile(keyFile)
	if err != nil {
		return apkfile.Signer{}, fmt.Errorf("signing key: %w", err)
	}
	key, err := apkfile.ParsePrivateKey(pemData)
	if err != nil {
		return apkfile.Signer{}, fmt.Errorf("signing key %s: %w", keyFile, err)
	}
	if name == "" {
		name = filepath.Base(keyFile) + ".pub"
	}
	return apkfile.Signer{Key: key, Name: name, SHA256: sha256}, nil
}

// apkReplaceFile writes data to name through a temporary file in the same
// directory, so readers see the old file or the new one, never a part.
// The file gets mode 0644, as abuild-sign and apk index leave it.
func apkReplaceFile(name string, data []byte) error {
	return rootfs.WriteFileAt(name, data, rootfs.WriteOptions{Perm: 0o644})
}
