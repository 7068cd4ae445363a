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
	JSON  bool
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

func newAPKVersionCommand(g *Globals) *cobra.Command {
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
			return runAPKVersion(o, g, args)
		},
	}
	cmd.Flags().BoolVarP(&o.Test, "test", "t", false, "compare two versions")
	cmd.Flags().BoolVarP(&o.Check, "check", "c", false, "check versions for validity")
	return cmd
}

func runAPKVersion(o *APKVersionOptions, g *Globals, args []string) error {
	if o.Test {
		r := apk.CompareVersions(args[0], args[1])
		fmt.Fprintln(g.Stdout, apk.VersionOpString(r))
		return nil
	}
	invalid := 0
	for _, v := range args {
		if !apk.ValidVersion(v) {
			fmt.Fprintln(g.Stdout, v)
			invalid++
		}
	}
	if invalid > 0 {
		return reported(ExitFailure, fmt.Errorf("%d invalid versions", invalid))
	}
	return nil
}
