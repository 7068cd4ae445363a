package cli

import "testing"

func TestAPKVersionCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"apk", "version", "-t", "1.0", "1.0-r1"}, 0, "<\n"},
		{[]string{"apk", "version", "-t", "8.2.0015", "8.2.002"}, 0, ">\n"},
		{[]string{"apk", "version", "-t", "1.0_alpha", "1.0"}, 0, "<\n"},
		{[]string{"apk", "version", "-t", "2.0", "2.0"}, 0, "=\n"},
		{[]string{"apk", "version", "--json", "-t", "2", "1"}, 0, "{\n  \"a\": \"2\",\n  \"b\": \"1\",\n  \"result\": \">\"\n}\n"},
		{[]string{"apk", "version", "-c", "1.0", "1.0-r2", "0.1_foobar", "x.y"}, ExitFailure, "0.1_foobar\nx.y\n"},
		{[]string{"apk", "version", "-c", "1.0"}, 0, ""},
		{[]string{"apk", "version", "-t", "1.0"}, ExitUsage, ""},
		{[]string{"apk", "version", "1.0"}, ExitUsage, ""},
	} {
		code, out, _ := run(t, tc.args...)
		if code != tc.code || out != tc.out {
			t.Errorf("cairn %v: exit %d, output %q; want %d, %q", tc.args, code, out, tc.code, tc.out)
		}
	}
}
