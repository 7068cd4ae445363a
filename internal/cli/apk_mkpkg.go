package cli

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/engine"
)

// APKMkpkgOptions are the options of `cairn apk mkpkg`.
type APKMkpkgOptions struct {
	Name, Version, Arch, Description, URL, License, Origin string
	Depends, Provides, InstallIf                           []string
	BuildTime                                              int64
	SignKey, KeyName                                       string
	SHA256                                                 bool
	Output                                                 string
	Scripts                                                []string // TYPE=FILE
}

// Validate checks the command line.
func (o *APKMkpkgOptions) Validate(args []string) error {
	switch {
	case len(args) != 1:
		return usagef("mkpkg takes one directory: the tree to package")
	case o.Name == "" || o.Version == "":
		return usagef("mkpkg needs --name and --version")
	case !apk.ValidVersion(o.Version):
		return usagef("--version %q is not a valid apk version (like 1.2.3-r0)", o.Version)
	case o.SignKey == "":
		return usagef("mkpkg needs --sign-key: repositories accept only signed packages")
	}
	return nil
}

func newAPKMkpkgCommand(g *Globals, ao *APKOptions) *cobra.Command {
	o := &APKMkpkgOptions{}
	cmd := &cobra.Command{
		Use:   "mkpkg --name N --version V --sign-key KEY [options] DIR",
		Short: "Package a directory tree as a signed apk package",
		Long: `Make a v2 .apk package of the files under DIR (paths relative to it become
paths in the system), as abuild would: modes and symlinks kept, files owned by
root, times set to --build-time (SOURCE_DATE_EPOCH when set). For software
Alpine does not package, to serve from a local repository with cairn apk index.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(args); err != nil {
				return err
			}
			return apkError(g, runAPKMkpkg(o, g, args[0]))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "package name")
	f.StringVar(&o.Version, "version", "", "package version (apk syntax)")
	f.StringVar(&o.Arch, "arch", "", "architecture (default this machine's)")
	f.StringVar(&o.Description, "description", "", "one line describing the package")
	f.StringVar(&o.URL, "url", "", "the software's home page")
	f.StringVar(&o.License, "license", "custom", "license (SPDX)")
	f.StringVar(&o.Origin, "origin", "", "origin (default the name)")
	f.StringArrayVar(&o.Depends, "depends", nil, "a dependency (repeatable)")
	f.StringArrayVar(&o.Provides, "provides", nil, "a provided name (repeatable)")
	f.StringArrayVar(&o.InstallIf, "install-if", nil, "an install_if condition (repeatable)")
	f.StringArrayVar(&o.Scripts, "script", nil, "a package script `TYPE=FILE` (post-install=setup.sh; repeatable)")
	f.Int64Var(&o.BuildTime, "build-time", 0, "build time and file times, seconds since 1970 (default SOURCE_DATE_EPOCH or 0)")
	f.StringVar(&o.SignKey, "sign-key", "", "RSA private key (PEM) to sign with")
	f.StringVar(&o.KeyName, "key-name", "", "the public key's file name in /etc/apk/keys (default the private key's file name + .pub)")
	f.BoolVar(&o.SHA256, "sha256", false, "sign with SHA-256 (.SIGN.RSA256)")
	f.StringVarP(&o.Output, "output", "o", "", "write to `FILE` (default NAME-VERSION.apk)")
	return cmd
}

func runAPKMkpkg(o *APKMkpkgOptions, g *Globals, dir string) error {
	signer, err := apkLoadSigner(o.SignKey, o.KeyName, o.SHA256)
	if err != nil {
		return err
	}
	bt := o.BuildTime
	if bt == 0 {
		if v := g.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			bt, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	arch := o.Arch
	if arch == "" {
		arch = engine.NativeArch()
	}
	origin := o.Origin
	if origin == "" {
		origin = o.Name
	}
	spec := &apkfile.PackageSpec{
		Info: apk.Package{
			Name: o.Name, Version: o.Version, Arch: arch, Description: o.Description,
			URL: o.URL, License: o.License, Origin: origin, BuildTime: bt,
		},
		Packager: "cairn apk mkpkg",
		Scripts:  map[string][]byte{},
	}
	for _, l := range []struct {
		flag string
		in   []string
		out  *[]apk.Dependency
	}{{"--depends", o.Depends, &spec.Info.Depends}, {"--provides", o.Provides, &spec.Info.Provides}, {"--install-if", o.InstallIf, &spec.Info.InstallIf}} {
		for _, v := range l.in {
			d, err := apk.ParseDependency(v)
			if err != nil {
				return usagef("%s: %v", l.flag, err)
			}
			*l.out = append(*l.out, d)
		}
	}
	for _, s := range o.Scripts {
		typ, file, ok := cutEq(s)
		if !ok {
			return usagef("--script %q: write TYPE=FILE", s)
		}
		body, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		spec.Scripts[typ] = body
	}
	if spec.Files, err = apkfile.TreeFiles(dir); err != nil {
		return err
	}
	var buf bytes.Buffer
	info, err := apkfile.WritePackage(&buf, spec, signer)
	if err != nil {
		return err
	}
	out := o.Output
	if out == "" {
		out = info.FileName()
	}
	if err := apkReplaceFile(out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "%s: %s, %d files, %d bytes\n", out, info.NameVersion(), len(spec.Files), info.InstalledSize)
	return nil
}

func cutEq(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}
