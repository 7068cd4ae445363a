package remote

import (
	"context"
	"slices"
	"testing"
)

func TestParseSSH(t *testing.T) {
	for _, c := range []struct {
		in   string
		want SSH
		bad  bool
	}{
		{in: "ssh://node", want: SSH{Host: "node"}},
		{in: "ssh://root@node:2222/run/cairn/store", want: SSH{User: "root", Host: "node", Port: 2222, Store: "/run/cairn/store"}},
		{in: "ssh://[::1]:22", want: SSH{Host: "::1", Port: 22}},
		{in: "node", bad: true},
		{in: "http://node", bad: true},
		{in: "ssh://a:b@node", bad: true},
		{in: "ssh://node:99999", bad: true},
		{in: "ssh://-oProxyCommand=x", bad: true},
	} {
		got, err := ParseSSH(c.in)
		if c.bad != (err != nil) || (!c.bad && got != c.want) {
			t.Errorf("ParseSSH(%q) = %+v, %v", c.in, got, err)
		}
		if !c.bad {
			if again, _ := ParseSSH(got.String()); again != got {
				t.Errorf("%q: String gives %q, which reads back as %+v", c.in, got.String(), again)
			}
		}
	}
}

func TestCommand(t *testing.T) {
	a := SSH{User: "root", Host: "node", Port: 2222}
	cmd := a.Command(context.Background(), []string{"ssh", "-i", "key"}, []string{"cairn", "receive", "--store", "/a b", "it's"})
	want := []string{"ssh", "-i", "key", "-p", "2222", "--", "root@node", `cairn receive --store '/a b' 'it'\''s'`}
	if !slices.Equal(cmd.Args, want) {
		t.Errorf("args %q, want %q", cmd.Args, want)
	}
}
