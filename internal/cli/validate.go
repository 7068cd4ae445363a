package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/build"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/node"
)

// ExitInvalidManifest is the exit code of a manifest that does not
// validate or cannot be read (the same as a bad command line: the input
// is wrong).
const ExitInvalidManifest = ExitUsage

// ValidateOptions are the options of `cairn validate`.
type ValidateOptions struct {
	Files    []string
	CacheDir string
	JSON     bool
}

func (o *ValidateOptions) Validate() error {
	for _, f := range o.Files {
		if f == "" {
			return usagef("-f needs a manifest path")
		}
	}
	return nil
}

func newValidateCommand(g *Globals) *cobra.Command {
	o := &ValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [-f system.yaml]... [--json]",
		Short: "Check manifests and print every problem",
		Long: `Read each manifest with its includes and check it: unknown keys, wrong types
and bad values are all reported at once, each with file:line:column, the key
path and what would be valid.

Then, without downloading anything, check the manifest against its packages
where the repositories are local or in the cache (and the packages, for
services and the time zone): package names no repository has, packages that
cannot be installed together (apk's report), services that no package,
artifact or file provides, a time zone tzdata does not have. What could not
be checked is said on stderr.

Exit codes:
  0    every manifest is valid
  2    a manifest is invalid or cannot be read
  3    a manifest's packages cannot be satisfied
`,
		Args: noArgsUsage("validate (give manifests with -f)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return runValidate(cmd.Context(), o, g)
		},
	}
	cmd.Flags().StringArrayVarP(&o.Files, "file", "f", []string{"system.yaml"}, "manifest to check (repeatable)")
	cmd.Flags().StringVar(&o.CacheDir, "cache-dir", "", "the download cache to check against (`DIR`; default the build's)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

// validateReport is the --json output.
type validateReport struct {
	Valid     bool             `json:"valid"`
	Manifests []manifestReport `json:"manifests"`
}

type manifestReport struct {
	File   string            `json:"file"`
	Valid  bool              `json:"valid"`
	Digest string            `json:"digest,omitempty"`
	Errors []*manifest.Error `json:"errors"`
	// Unchecked says what could not be checked against the packages.
	Unchecked []string `json:"unchecked,omitempty"`
}

func runValidate(ctx context.Context, o *ValidateOptions, g *Globals) error {
	report := validateReport{Valid: true, Manifests: []manifestReport{}}
	problems := 0
	var causes []error
	cache := o.CacheDir
	if cache == "" {
		cache = defaultCacheDir(g)
	}
	for _, file := range o.Files {
		r := manifestReport{File: file, Errors: []*manifest.Error{}}
		f, err := manifest.LoadFile(file)
		if err == nil {
			r.Digest = f.Digest()
			f.ApplyDefaults()
			lock, lerr := node.ReadLock(file)
			if lerr != nil {
				lock = nil // a lock that cannot be read pins nothing here
			}
			var res *build.CheckResult
			res, err = build.Check(ctx, build.Request{Manifest: f.System, ManifestPath: file, Lock: lock, CacheDir: cache, Offline: true})
			if res != nil {
				r.Unchecked = res.Unchecked
			}
			f.Locate(err)
		} else if !isManifestProblem(err) {
			err = asUsage(err) // a manifest that cannot be read
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			causes = append(causes, err)
			var errs manifest.Errors
			if !errors.As(err, &errs) {
				errs = manifest.Errors{{File: file, Msg: err.Error()}}
			}
			r.Errors = errs
			r.Digest = ""
			problems += len(errs)
		} else {
			r.Valid = true
		}
		report.Valid = report.Valid && r.Valid
		report.Manifests = append(report.Manifests, r)
	}
	if o.JSON {
		if err := writeJSON(g.Stdout, report); err != nil {
			return err
		}
	} else {
		for _, r := range report.Manifests {
			if r.Valid {
				fmt.Fprintf(g.Stdout, "%s: valid\n", r.File)
			}
			for _, e := range r.Errors {
				fmt.Fprintln(g.Stderr, e.Error())
			}
			for _, u := range r.Unchecked {
				fmt.Fprintf(g.Stderr, "%s: not checked: %s\n", r.File, u)
			}
		}
	}
	if report.Valid {
		return nil
	}
	err := &summaryError{msg: fmt.Sprintf("%s in %s", plural(problems, "problem"), plural(len(o.Files), "manifest")), causes: causes}
	if o.JSON {
		return reported(0, err)
	}
	return err
}

// summaryError sums up the errors of several inputs; its exit code is
// theirs (see exitCode).
type summaryError struct {
	msg    string
	causes []error
}

func (e *summaryError) Error() string   { return e.msg }
func (e *summaryError) Unwrap() []error { return e.causes }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
