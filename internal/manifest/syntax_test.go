package manifest

import (
	"strings"
	"testing"
)

// TestSyntaxPosition checks that YAML syntax errors point at the line and
// column where the problem is, whatever the parser itself says.
func TestSyntaxPosition(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"unclosed [", "apiVersion: cairn/v1\nkind: System\npackages: [a, b\nhostname: x\n",
			"x.yaml:3:11: YAML syntax: did not find expected ',' or ']': this [ is not closed"},
		{"unclosed [ on the first line", "packages: [a, b\nhostname: x\n", "x.yaml:1:11: YAML syntax: did not find expected ',' or ']'"},
		{"unclosed [ inside a closed one", "a: 1\nb: [x, [y]\nc: 2\n", "x.yaml:2:4: YAML syntax"},
		{"unclosed [ after a multi-line list", "a: [x,\n  y]\nb: [z\n", "x.yaml:3:4: YAML syntax"},
		{"unclosed {", "a: 1\nb: {x: 1\nc: 2\n", "x.yaml:2:4: YAML syntax: did not find expected ',' or '}'"},
		{"bad indentation", "a: 1\nalpine:\n  version: v3.19\n arch: x86_64\n", "x.yaml:4:2: YAML syntax: did not find expected key"},
		{"too many ]", "a: 1\nb: [a, b]]\n", "x.yaml:2:10: YAML syntax: did not find expected key"},
		{"value with a colon", "a: 1\nb: c: d\n", "x.yaml:2:5: YAML syntax: mapping values are not allowed in this context"},
		{"unclosed quote", "a: 1\nname: \"abc\nb: 2\n", "x.yaml:2:7: YAML syntax: found unexpected end of stream"},
		{"list entry expected", "a: 1\nb:\n  - x\n  y: 1\n", "x.yaml:4:3: YAML syntax: did not find expected '-' indicator"},
		{"at sign", "a: 1\nb: @x\n", "x.yaml:2:4: YAML syntax: found character that cannot start any token"},
		{"after non-ASCII", "a: 1\nb: é: c\n", "x.yaml:2:5: YAML syntax: mapping values"},
		{"tab", "a: 1\nb:\n\t- x\n", "x.yaml:3:1: YAML syntax: found character that cannot start any token (a tab: YAML indents with spaces only)"},
		{"BOM", "\uFEFFa: 1\nb: [x\n", "x.yaml:2:4: YAML syntax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.data))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got\n  %v\nwant\n  %s...", err, tc.want)
			}
		})
	}
}
