package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/apk"
)

// APKVersionOptions are the options of `cairn apk version`.
type APKVersionOptions struct {
	Test  bool
	Check bool
}

func (o *APKVersionOptions) Validate(args []string) error {
	switch {
	case o.Test && o.Check:
		return usagef("use either -t or -c")
	case o.Test && len(args) != 2:
		return usagef("version -t takes two versions, got %d", len(args))
	case !o.Test && !o.Check:
		return usagef("version needs -t A B (compare) or -c V... (check)")
	}
	return nil
}

func newAPKVersionCommand(g *Globals, ao *APKOptions) *cobra.Command {
	o := &APKVersionOptions{}
	cmd := &cobra.Command{
		Use:   "version (-t A B | -c V...)",
		Short: "Compare versions or check that they are valid, as apk version does",
		Long: `With -t, print <, = or > for how version A compares to version B.
With -c, print the versions that are not valid and exit with their number.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(args); err != nil {
				return err
			}
			return runAPKVersion(o, ao.JSON, g, args)
		},
	}
	cmd.Flags().BoolVarP(&o.Test, "test", "t", false, "compare two versions")
	cmd.Flags().BoolVarP(&o.Check, "check", "c", false, "check versions for validity")
	return cmd
}

func runAPKVersion(o *APKVersionOptions, asJSON bool, g *Globals, args []string) error {
	if o.Test {
		r := apk.VersionOpString(apk.CompareVersions(args[0], args[1]))
		if asJSON {
			return writeJSON(g.Stdout, map[string]string{"a": args[0], "b": args[1], "result": r})
		}
		fmt.Fprintln(g.Stdout, r)
		return nil
	}
	invalid := []string{}
	for _, v := range args {
		if !apk.ValidVersion(v) {
			invalid = append(invalid, v)
		}
	}
	if asJSON {
		if err := writeJSON(g.Stdout, map[string][]string{"invalid": invalid}); err != nil {
			return err
		}
	} else {
		for _, v := range invalid {
			fmt.Fprintln(g.Stdout, v)
		}
	}
	if len(invalid) > 0 {
		return reported(ExitFailure, fmt.Errorf("%d invalid versions", len(invalid)))
	}
	return nil
}
