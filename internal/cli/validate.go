package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// ExitInvalidManifest is the exit code of a manifest that does not
// validate or cannot be read (the same as a bad command line: the input
// is wrong).
const ExitInvalidManifest = ExitUsage

// ValidateOptions are the options of `cairn validate`.
type ValidateOptions struct {
	Files []string
	JSON  bool
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

Exit codes:
  0    every manifest is valid
  2    a manifest is invalid or cannot be read
`,
		Args: noArgsUsage("validate (give manifests with -f)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return runValidate(o, g)
		},
	}
	cmd.Flags().StringArrayVarP(&o.Files, "file", "f", []string{"system.yaml"}, "manifest to check (repeatable)")
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
}

func runValidate(o *ValidateOptions, g *Globals) error {
	report := validateReport{Valid: true, Manifests: []manifestReport{}}
	problems := 0
	for _, file := range o.Files {
		r := manifestReport{File: file, Errors: []*manifest.Error{}}
		s, err := manifest.Load(file)
		if err != nil {
			var errs manifest.Errors
			if !errors.As(err, &errs) {
				errs = manifest.Errors{{File: file, Msg: err.Error()}}
			}
			r.Errors = errs
			problems += len(errs)
		} else {
			r.Valid = true
			r.Digest = s.Digest()
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
		}
	}
	if report.Valid {
		return nil
	}
	err := fmt.Errorf("%s in %s", plural(problems, "problem"), plural(len(o.Files), "manifest"))
	if o.JSON {
		return reported(ExitInvalidManifest, err)
	}
	return withCode(ExitInvalidManifest, err)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
