package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/image"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

// Shell completion (cairn completion bash|zsh|fish|powershell) completes
// commands and flags by itself; these complete their values: the fixed
// ones (image formats, loaders, backends, compressions), manifests for
// -f, and the generations of the store a command works on.

// flagValues are the values of flags with a fixed set, by flag name.
var flagValues = map[string][]string{
	"format":      imageFormats,
	"compression": {string(image.Gzip), string(image.Zstd), string(image.None)},
	"loader":      {boot.Extlinux, boot.Grub, boot.SystemdBoot},
	"initramfs":   {boot.InitramfsCairn, boot.InitramfsMkinitfs},
	"backend":     {store.BackendBtrfs, store.BackendPlain},
}

// generationArgs are the commands whose arguments are generation
// numbers, and how many they take.
var generationArgs = map[string]int{
	"cairn switch":   1,
	"cairn pin":      1,
	"cairn unpin":    1,
	"cairn diff":     2,
	"cairn manifest": 1,
}

// registerCompletions gives every command in cmd's tree the value
// completions that apply to it.
func registerCompletions(cmd *cobra.Command, g *Globals) {
	for _, c := range cmd.Commands() {
		registerCompletions(c, g)
	}
	for name, values := range flagValues {
		if cmd.Flags().Lookup(name) != nil {
			cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	if f := cmd.Flags().Lookup("file"); f != nil && f.Shorthand == "f" {
		cmd.RegisterFlagCompletionFunc("file", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
		})
	}
	if cmd.Flags().Lookup("generation") != nil && cmd.Flags().Lookup("store") != nil {
		cmd.RegisterFlagCompletionFunc("generation", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			return generationCompletions(c, g), cobra.ShellCompDirectiveNoFileComp
		})
	}
	if n, ok := generationArgs[cmd.CommandPath()]; ok {
		cmd.ValidArgsFunction = func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) >= n {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return generationCompletions(c, g), cobra.ShellCompDirectiveNoFileComp
		}
	}
}

// generationCompletions lists the generations of the store the command
// line names (--store, $CAIRN_STORE, the running system's), each with
// what it is; none when there is no store.
func generationCompletions(c *cobra.Command, g *Globals) []string {
	o := StoreOptions{}
	if f := c.Flags().Lookup("store"); f != nil {
		o.Path = f.Value.String()
	}
	s, err := o.open(g)
	if err != nil {
		return nil
	}
	gens, err := s.Generations()
	if err != nil {
		return nil
	}
	st, _ := s.State()
	var out []string
	for i := len(gens) - 1; i >= 0; i-- {
		gen := gens[i]
		what := gen.Meta.Created.Local().Format("2006-01-02 15:04")
		if marks := node.Marks(st, gen.Number); len(marks) > 0 {
			what += " (" + strings.Join(marks, ", ") + ")"
		}
		if gen.Meta.Description != "" {
			what += " " + printable(gen.Meta.Description)
		}
		out = append(out, strconv.Itoa(gen.Number)+"\t"+what)
	}
	return out
}
