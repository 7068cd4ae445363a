package manifest

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseText(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"invalid UTF-8", "apiVersion: cairn/v1\nkind: \xff\n", "x.yaml:2:7: not valid UTF-8"},
		{"control character", "apiVersion: cairn/v1\nkind: Sys\x01tem\n", "x.yaml:2:10: control character U+0001"},
		{"BOM", "\uFEFFapiVersion: cairn/v1\nkind: System\n", "x.yaml:1:1: alpine.repositories: missing"},
		{"CRLF", "apiVersion: cairn/v1\r\nkind: System\r\nhostname: a_b\r\n", `x.yaml:3:11: hostname: "a_b" is not a host name`},
		{"scalar document", "hello\n", "x.yaml:1:1: a manifest is a mapping of keys"},
		{"null document", "~\n", "x.yaml:1:1: the manifest is empty"},
		{"alias to nothing", "apiVersion: cairn/v1\nkind: System\nhostname: *x\n", "x.yaml:3:11: YAML syntax: unknown anchor 'x' referenced"},
		{"non-scalar key", "apiVersion: cairn/v1\nkind: System\n? [a]\n: b\n", "x.yaml:3:3: a key must be a plain word, got a list"},
		{"custom tag", "apiVersion: cairn/v1\nkind: System\nhostname: !secret x\n", `x.yaml:3:11: hostname: expected a string, got the value "x" (tag !secret)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.data))
			if err == nil {
				t.Fatal("no error")
			}
			checkPositions(t, err)
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				found = found || strings.HasPrefix(line, tc.want)
			}
			if !found {
				t.Errorf("got\n  %v\nwant a problem starting with\n  %s", err, tc.want)
			}
		})
	}
}

// TestAliasBomb checks that aliases expanding into each other stop at a
// bound instead of taking time and memory without end.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + repo + "users:\n  - &u {name: a, groups: [")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "g%d", i)
	}
	b.WriteString("]}\n")
	for range 2000 {
		b.WriteString("  - *u\n")
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too large") || len(err.(Errors)) > 2 {
		t.Errorf("got %.500v", err)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + repo + "packages:\n")
	for range 2 * maxProblems {
		b.WriteString("  - [x]\n")
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	errs := err.(Errors)
	if len(errs) != maxProblems+1 || !strings.Contains(errs[maxProblems].Msg, "too many problems") {
		t.Errorf("got %d problems, the last %v", len(errs), errs[len(errs)-1])
	}
}

func TestPaths(t *testing.T) {
	for _, tc := range []struct{ path, parent string }{
		{keyPath("", "hostname"), ""},
		{keyPath("services.define", "nomad"), "services.define"},
		{indexPath("users", 3), "users"},
		{keyPath("sysctl", "net.ipv4.ip_forward"), "sysctl"},
		{keyPath(keyPath("a", `we"ird["key`), "x"), `a["we\"ird[\"key"]`},
		{keyPath("a", `we"ird["key`), "a"},
		{indexPath(keyPath("a", "b.c"), 0), `a["b.c"]`},
	} {
		if got := parentPath(tc.path); got != tc.parent {
			t.Errorf("parentPath(%s) = %s, want %s", tc.path, got, tc.parent)
		}
	}
	if got := keyPath("sysctl", "net.ipv4.ip_forward"); got != `sysctl["net.ipv4.ip_forward"]` {
		t.Errorf("keyPath = %s", got)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"repositories", "keys", "arch", "version", "define"}
	for key, want := range map[string]string{"repos": "repositories", "key": "keys", "archh": "arch", "verison": "version", "defne": "define", "colour": "", "x": ""} {
		if got := suggest(key, names); got != want {
			t.Errorf("suggest(%s) = %q, want %q", key, got, want)
		}
	}
}
