package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// The cairn command lines of the documentation: in code blocks, and in
// backquotes.
var (
	codeBlock  = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	inlineCode = regexp.MustCompile("`(cairn [^`]*)`")
	cairnLine  = regexp.MustCompile("(?m)^(cairn [^#\n]*)")
)

// cairnCommands returns the cairn command lines of a Markdown text.
func cairnCommands(text string) []string {
	var out []string
	for _, b := range codeBlock.FindAllStringSubmatch(text, -1) {
		for _, m := range cairnLine.FindAllStringSubmatch(b[1], -1) {
			out = append(out, m[1])
		}
	}
	prose := codeBlock.ReplaceAllString(text, "")
	for _, m := range inlineCode.FindAllStringSubmatch(prose, -1) {
		out = append(out, m[1])
	}
	return out
}

// The commands and flags the README and the operator's guide show exist:
// the guide stays true to the cairn it documents.
func TestDocsCommands(t *testing.T) {
	root := newRootCommand(&Globals{})
	root.InitDefaultCompletionCmd()
	for _, doc := range []string{"README.md", "docs/operator.md"} {
		data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), doc))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, line := range cairnCommands(string(data)) {
			words := strings.Fields(strings.NewReplacer("[", " ", "]", " ", "|", " ").Replace(line))[1:]
			var args []string
			for _, w := range words {
				if strings.HasPrefix(w, "-") {
					break
				}
				args = append(args, w)
			}
			cmd, rest, err := root.Find(args)
			if err == nil && cmd.HasSubCommands() && len(rest) > 0 {
				err = usagef("no command %q under %s", rest[0], cmd.CommandPath())
			}
			if err != nil {
				t.Errorf("%s: %q: %v", doc, line, err)
				continue
			}
			found++
			for _, w := range words {
				if !strings.HasPrefix(w, "--") || w == "--" {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
				name = strings.TrimRight(name, ".,:;)")
				if cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil {
					t.Errorf("%s: %q: %s has no --%s", doc, line, cmd.CommandPath(), name)
				}
			}
		}
		if found < 10 {
			t.Errorf("%s: only %d cairn commands found", doc, found)
		}
	}
}
