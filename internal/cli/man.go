package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The manual pages are generated from the commands themselves (their
// usage, help text, flags and exit codes), so they never drift from what
// cairn does: cairn man COMMAND prints one, cairn man --dir DIR writes
// them all (cairn.1, cairn-build.1, cairn-apk-add.1, ...) for a package.

// ManOptions are the options of `cairn man`.
type ManOptions struct {
	Dir string
}

func newManCommand(g *Globals) *cobra.Command {
	o := &ManOptions{}
	cmd := &cobra.Command{
		Use:   "man [COMMAND...] [--dir DIR]",
		Short: "Print the manual page of a command, or write them all",
		Long: `Print the manual page (roff, for man -l -) of cairn or of one of its
commands (cairn man build, cairn man apk add). With --dir, write the pages of
every command into DIR instead, named cairn.1, cairn-build.1, cairn-apk-add.1
and so on, as a package installs them into /usr/share/man/man1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			if o.Dir != "" {
				if len(args) > 0 {
					return usagef("give a command or --dir, not both")
				}
				return writeManPages(root, o.Dir, g)
			}
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("no command %q (cairn --help lists them)", strings.Join(args, " "))
			}
			_, err = g.Stdout.Write(manPage(target))
			return err
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "", "write every page into `DIR`")
	return cmd
}

// manCommands lists cmd and the commands below it that have pages.
func manCommands(cmd *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{cmd}
	for _, c := range cmd.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		out = append(out, manCommands(c)...)
	}
	return out
}

// manName is a command's page name: cairn-apk-add.
func manName(cmd *cobra.Command) string {
	return strings.ReplaceAll(cmd.CommandPath(), " ", "-")
}

func writeManPages(root *cobra.Command, dir string, g *Globals) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmds := manCommands(root)
	for _, c := range cmds {
		if err := os.WriteFile(filepath.Join(dir, manName(c)+".1"), manPage(c), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(g.Stdout, "wrote %d manual pages to %s\n", len(cmds), dir)
	return nil
}

// manPage renders cmd's manual page in roff (man(7) macros).
func manPage(cmd *cobra.Command) []byte {
	var b strings.Builder
	name := manName(cmd)
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"cairn %s\" \"cairn manual\"\n", strings.ToUpper(name), roffEscape(Version))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roffEscape(name), roffEscape(cmd.Short))

	b.WriteString(".SH SYNOPSIS\n")
	use := strings.TrimPrefix(cmd.UseLine(), cmd.CommandPath())
	fmt.Fprintf(&b, ".B %s\n%s\n", roffEscape(cmd.CommandPath()), roffEscape(strings.TrimSpace(use)))

	long, exits := splitExitCodes(cmd.Long)
	if long == "" {
		long = cmd.Short + "."
	}
	b.WriteString(".SH DESCRIPTION\n")
	writeRoffText(&b, long)

	if subs := manSubcommands(cmd); len(subs) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, c := range subs {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roffEscape(c.Name()), roffEscape(c.Short))
		}
	}

	var flags []*pflag.Flag
	cmd.NonInheritedFlags().VisitAll(func(f *pflag.Flag) { flags = append(flags, f) })
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) { flags = append(flags, f) })
	flags = slices.DeleteFunc(flags, func(f *pflag.Flag) bool { return f.Hidden })
	if len(flags) > 0 {
		b.WriteString(".SH OPTIONS\n")
		for _, f := range flags {
			b.WriteString(".TP\n" + flagSynopsis(f) + "\n")
			usage := f.Usage
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" && !strings.Contains(usage, "default") {
				usage += " (default " + f.DefValue + ")"
			}
			b.WriteString(roffEscape(strings.ReplaceAll(usage, "`", "")) + "\n")
		}
	}

	if exits == "" {
		_, exits = splitExitCodes(exitCodeHelp)
	}
	b.WriteString(".SH EXIT STATUS\n")
	for _, line := range strings.Split(strings.TrimSpace(exits), "\n") {
		code, what, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roffEscape(code), roffEscape(strings.TrimSpace(what)))
	}

	var also []string
	if p := cmd.Parent(); p != nil {
		also = append(also, manName(p))
	}
	for _, c := range manSubcommands(cmd) {
		also = append(also, manName(c))
	}
	if len(also) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		for i, a := range also {
			sep := ","
			if i == len(also)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, ".BR %s (1)%s\n", roffEscape(a), sep)
		}
	}
	return []byte(b.String())
}

func manSubcommands(cmd *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range cmd.Commands() {
		if !c.Hidden && c.Name() != "help" {
			out = append(out, c)
		}
	}
	return out
}

// splitExitCodes separates the "Exit codes" list from a help text.
func splitExitCodes(long string) (text, exits string) {
	i := strings.Index(long, "Exit codes")
	if i < 0 {
		return strings.TrimSpace(long), ""
	}
	rest := long[i:]
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[nl+1:]
	}
	return strings.TrimSpace(long[:i]), rest
}

// flagSynopsis renders a flag as the OPTIONS list shows it: the names
// in bold, the argument in italics (.BI "\-f, \-\-file " FILE).
func flagSynopsis(f *pflag.Flag) string {
	names := "\\-\\-" + roffEscape(f.Name)
	if f.Shorthand != "" {
		names = "\\-" + roffEscape(f.Shorthand) + ", " + names
	}
	if f.Value.Type() == "bool" {
		return ".B \"" + names + "\""
	}
	arg, _ := pflag.UnquoteUsage(f)
	if !strings.Contains(f.Usage, "`") {
		arg = strings.ToUpper(arg)
	}
	return ".BI \"" + names + " \" " + roffEscape(arg)
}

// writeRoffText writes help text as roff paragraphs: blank lines start a
// paragraph, indented lines (lists, commands) are shown as written.
func writeRoffText(b *strings.Builder, text string) {
	inBlock := false
	for _, para := range strings.Split(text, "\n\n") {
		lines := strings.Split(strings.Trim(para, "\n"), "\n")
		b.WriteString(".PP\n")
		for _, line := range lines {
			indented := strings.HasPrefix(line, "  ")
			switch {
			case indented && !inBlock:
				b.WriteString(".nf\n")
				inBlock = true
			case !indented && inBlock:
				b.WriteString(".fi\n")
				inBlock = false
			}
			b.WriteString(roffLine(line) + "\n")
		}
		if inBlock {
			b.WriteString(".fi\n")
			inBlock = false
		}
	}
}

// roffLine escapes a line of text: a leading . or ' would make it a
// request.
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return s
}

// roffEscape escapes what roff reads specially in text: backslashes,
// hyphens (written \- so that they stay ASCII hyphens in options), and
// characters beyond ASCII (as \[uXXXX], which every troff reads).
func roffEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 127:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
