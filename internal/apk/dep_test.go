package apk

import (
	"testing"
)

func TestParseDependency(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Dependency
		ok   bool
	}{
		{"busybox", Dependency{Name: "busybox", Mask: DepMaskAny}, true},
		{"so:libc.musl-x86_64.so.1", Dependency{Name: "so:libc.musl-x86_64.so.1", Mask: DepMaskAny}, true},
		{"/bin/sh", Dependency{Name: "/bin/sh", Mask: DepMaskAny}, true},
		{"foo>=1.2-r3", Dependency{Name: "foo", Version: "1.2-r3", Mask: VersionGreater | VersionEqual}, true},
		{"foo<2", Dependency{Name: "foo", Version: "2", Mask: VersionLess}, true},
		{"foo=1", Dependency{Name: "foo", Version: "1", Mask: VersionEqual}, true},
		{"foo~1.2", Dependency{Name: "foo", Version: "1.2", Mask: VersionEqual | VersionFuzzy, Fuzzy: true}, true},
		{"!foo", Dependency{Name: "foo", Mask: DepMaskAny, Conflict: true}, true},
		{"!foo<2", Dependency{Name: "foo", Version: "2", Mask: VersionLess, Conflict: true}, true},
		{"foo@edge", Dependency{Name: "foo", Mask: DepMaskAny, Tag: "@edge"}, true},
		{"foo@edge>1", Dependency{Name: "foo", Version: "1", Mask: VersionGreater, Tag: "@edge"}, true},
		{"foo><Q1eVpkasfqZAukAXFYbgwt4xAMZWU=", Dependency{Name: "foo", Version: "Q1eVpkasfqZAukAXFYbgwt4xAMZWU=", Mask: DepMaskChecksum}, true},
		{"foo=", Dependency{}, false},
		{"foo==", Dependency{}, false},
		{"foo=invalid", Dependency{}, false},
		{"foo bar", Dependency{}, false},
	} {
		got, err := ParseDependency(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseDependency(%q): err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && got != tc.want {
			t.Errorf("ParseDependency(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if tc.ok && got.WorldString() != tc.in {
			t.Errorf("round trip of %q gives %q", tc.in, got.WorldString())
		}
	}
}

func TestParseDependenciesStopsAtBadEntry(t *testing.T) {
	deps, err := ParseDependencies("a b>1 c=bad d")
	if err == nil {
		t.Fatal("no error for c=bad")
	}
	if len(deps) != 2 || deps[0].Name != "a" || deps[1].Name != "b" {
		t.Errorf("kept %+v, want the two entries before the bad one", deps)
	}
}

func FuzzParseDependencies(f *testing.F) {
	for _, s := range []string{"a b>1 !c", "so:libc.musl-x86_64.so.1 cmd:sh=1.36-r0", "foo@edge><Q1eVpkasfqZAukAXFYbgwt4xAMZWU=", "x~1.2 y<=3 z>=4_alpha", "\n \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		deps, err := ParseDependencies(s)
		if err != nil {
			return
		}
		// What parses renders back to something that parses to the same.
		for _, d := range deps {
			again, err := ParseDependency(d.WorldString())
			if err != nil {
				t.Fatalf("%q parsed to %+v, whose rendering %q does not parse: %v", s, d, d.WorldString(), err)
			}
			if again != d {
				t.Fatalf("%q: %+v renders as %q, which parses to %+v", s, d, d.WorldString(), again)
			}
		}
	})
}
