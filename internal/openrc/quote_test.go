package openrc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostile are strings that break naive quoting.
var hostile = []string{
	"", " ", "a b", "a  b", " lead", "trail ", "\t", "a\tb", "\n", "a\nb", "\r\n",
	"it's", "''", `"`, `"'"`, `'"'"'`, `\`, `\'`, `a\nb`, `\\`,
	"$HOME", "${HOME}", "$(id)", "`id`", "$((1+1))", "$", "$1", "$@",
	"*", "*.txt", "?", "[a]", "[!a]", "~", "~root", "{a,b}", "#x", "a#b",
	";true", "a;b", "&&", "|", "<x", ">x", "(", ")", "!", "a=b", "-n", "-e", "--",
	"%s", "%%", "é", "\xff\xfe", "\x01\x7f", "\x1b[31m",
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"nomad", "nomad"},
		{"/usr/local/bin/nomad", "/usr/local/bin/nomad"},
		{"user:group", "user:group"},
		{"a=b,c@d%e+f-g_h", "a=b,c@d%e+f-g_h"},
		{"a b", "'a b'"},
		{"$HOME", "'$HOME'"},
		{"a\nb", "'a\nb'"},
		{"it's", `"it's"`},
		{`it's "x"`, `'it'\''s "x"'`},
		{"it's $x", `'it'\''s $x'`},
		{"'", `"'"`},
		{"~", "'~'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestQuoteShell has each shell print every quoted hostile string and
// checks it gets back exactly the string.
func TestQuoteShell(t *testing.T) {
	words := make([]string, len(hostile))
	for i, s := range hostile {
		words[i] = Quote(s)
	}
	script := "printf '%s\\0' " + strings.Join(words, " ")
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			got := splitNUL(sh.run(t, globDir(t), script))
			if !slices.Equal(got, hostile) {
				t.Errorf("got  %q\nwant %q", got, hostile)
			}
		})
	}
}

// TestEvalArgs does to command_args what OpenRC's start functions do:
// expand it unquoted (splitting and globbing it) into an eval. Each
// argument must come out as it went in.
func TestEvalArgs(t *testing.T) {
	lists := [][]string{
		{"agent", "-config", "/etc/nomad.d"},
		{""},
		{"-c", "echo hello world", "it's", " x "},
		hostile,
	}
	for _, args := range lists {
		value, vars := evalWords(args, argVar)
		script := strings.Join(vars, "\n") + "\ncommand_args=" + Quote(value) + "\n" +
			`eval 'printf "%s\\0"' $command_args` + "\n"
		for _, sh := range shells(t) {
			got := splitNUL(sh.run(t, globDir(t), script))
			if !slices.Equal(got, args) {
				t.Errorf("%s: command_args=%s\ngot  %q\nwant %q", sh.name, Quote(value), got, args)
			}
		}
	}
}

// globDir returns a directory with files that wrongly quoted words
// would glob to.
func globDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"a", "b.txt", "c.txt", "'a", `"a`, "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// FuzzQuote checks with /bin/sh that Quote and evalWords keep any string
// (without NUL) exactly. Seeded from hostile.
func FuzzQuote(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	sh := shell{"sh", []string{"/bin/sh"}}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("no shell string holds NUL")
		}
		if got := splitNUL(sh.run(t, dir, "printf '%s\\0' "+Quote(s))); !slices.Equal(got, []string{s}) {
			t.Fatalf("Quote(%q) = %s gives %q", s, Quote(s), got)
		}
		args := []string{"a", s, "z"}
		value, vars := evalWords(args, argVar)
		script := strings.Join(vars, "\n") + "\nv=" + Quote(value) + "\n" + `eval 'printf "%s\\0"' $v`
		if got := splitNUL(sh.run(t, dir, script)); !slices.Equal(got, args) {
			t.Fatalf("evalWords(%q) = %s gives %q", args, value, got)
		}
	})
}
