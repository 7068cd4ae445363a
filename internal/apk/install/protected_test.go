//go:build linux

package install

import (
	"testing"
)

func TestProtectedConfig(t *testing.T) {
	e := newEnv(t)
	e.add(spec("app", "1",
		dir("etc"), file("etc/app.conf", "v1\n"), file("etc/same.conf", "s1\n"), file("etc/untouched.conf", "u1\n"),
		dir("usr"), dir("usr/share"), file("usr/share/app.data", "d1\n")))
	e.mustAdd("app")

	e.writeFile("etc/app.conf", "local change\n")
	e.writeFile("etc/same.conf", "s2\n") // the admin anticipated the next version
	e.writeFile("usr/share/app.data", "local data\n")

	e.add(spec("app", "2",
		dir("etc"), file("etc/app.conf", "v2\n"), file("etc/same.conf", "s2\n"), file("etc/untouched.conf", "u2\n"),
		dir("usr"), dir("usr/share"), file("usr/share/app.data", "d2\n")))
	e.mustUpgrade("app")

	for rel, want := range map[string]string{
		"etc/app.conf":         "local change\n", // kept
		"etc/app.conf.apk-new": "v2\n",           // the new version beside it
		"etc/same.conf":        "s2\n",
		"etc/untouched.conf":   "u2\n", // not changed locally: upgraded
		"usr/share/app.data":   "d2\n", // not protected: overwritten
	} {
		if got := e.readFile(rel); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	for _, no := range []string{"etc/same.conf.apk-new", "etc/untouched.conf.apk-new", "usr/share/app.data.apk-new"} {
		if e.exists(no) {
			t.Errorf("%s exists", no)
		}
	}
	leftovers(t, e.root)

	// Removing the package leaves the locally changed file.
	if _, err := e.del("app"); err != nil {
		t.Fatal(err)
	}
	if e.readFile("etc/app.conf") != "local change\n" {
		t.Error("removal deleted a locally changed config file")
	}
	if e.exists("etc/untouched.conf") || e.exists("usr/share/app.data") {
		t.Error("removal left unchanged files")
	}
}

func TestProtectedUnownedFile(t *testing.T) {
	e := newEnv(t)
	e.writeFile("etc/hostname", "myhost\n")
	e.writeFile("etc/issue", "Welcome\n")
	e.add(spec("baselayout", "1", dir("etc"), file("etc/hostname", "localhost\n"), file("etc/issue", "Welcome\n")))
	e.mustAdd("baselayout")
	if e.readFile("etc/hostname") != "myhost\n" || e.readFile("etc/hostname.apk-new") != "localhost\n" {
		t.Error("an existing file nobody owned was not kept beside .apk-new")
	}
	if e.exists("etc/issue.apk-new") {
		t.Error("an identical file got an .apk-new")
	}
}

func TestProtectedPathsList(t *testing.T) {
	e := newEnv(t)
	e.writeFile("etc/apk/protected_paths.d/test.list", "# test\n-etc/volatile\n+opt/conf\n")
	e.writeFile("etc/volatile/state", "mine\n")
	e.writeFile("opt/conf/x", "mine\n")
	e.writeFile("opt/other/y", "mine\n")
	e.add(spec("p", "1",
		dir("etc"), dir("etc/volatile"), file("etc/volatile/state", "pkg\n"),
		dir("opt"), dir("opt/conf"), file("opt/conf/x", "pkg\n"), dir("opt/other"), file("opt/other/y", "pkg\n")))
	e.mustAdd("p")
	for rel, want := range map[string]string{
		"etc/volatile/state": "pkg\n",  // '-': ignored
		"opt/conf/x":         "mine\n", // '+': protected
		"opt/conf/x.apk-new": "pkg\n",
		"opt/other/y":        "pkg\n",
	} {
		if got := e.readFile(rel); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
}

func TestProtectedRules(t *testing.T) {
	p := newProtector(parseProtectedPaths(defaultProtectedPaths + "-etc/ssl/certs\n!usr/local/etc\n"))
	for dir, want := range map[string]protectMode{
		"":               protectNone,
		"etc":            protectChanged,
		"etc/conf.d":     protectChanged,
		"etc/init.d":     protectSymlinksOnly,
		"etc/apk":        protectAll,
		"etc/apk/keys":   protectAll,
		"etc/ssl/certs":  protectIgnore,
		"etc/ssl":        protectChanged,
		"usr":            protectNone,
		"usr/local/etc":  protectAll,
		"usr/local/etcx": protectNone,
		"etcetera":       protectNone,
	} {
		if got := p.mode(dir); got != want {
			t.Errorf("%q: mode %d, want %d", dir, got, want)
		}
	}
}
