package repo

import (
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
)

func TestParseRepository(t *testing.T) {
	tests := []struct {
		in      string
		want    Repository
		wantErr string
	}{
		{in: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main", want: Repository{URL: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main"}},
		{in: "  http://mirror/alpine/v3.19/community/  ", want: Repository{URL: "http://mirror/alpine/v3.19/community"}},
		{in: "@edge https://dl-cdn.alpinelinux.org/alpine/edge/testing", want: Repository{URL: "https://dl-cdn.alpinelinux.org/alpine/edge/testing", Tag: "@edge"}},
		{in: "@local\t/srv/packages/main", want: Repository{URL: "/srv/packages/main", Tag: "@local"}},
		{in: "file:///srv/packages/main", want: Repository{URL: "file:///srv/packages/main"}},
		{in: "file://localhost/srv/packages/main", want: Repository{URL: "file://localhost/srv/packages/main"}},
		{in: "./packages", want: Repository{URL: "./packages"}},
		{in: "/", want: Repository{URL: "/"}},
		{in: "/tmp/out/APKINDEX.tar.gz", want: Repository{URL: "/tmp/out/APKINDEX.tar.gz"}},
		{in: "ftp://mirror/alpine", wantErr: `unsupported URL scheme "ftp"`},
		{in: "http:///alpine", wantErr: "no host"},
		{in: "file://server/srv", wantErr: `names host "server"`},
		{in: "@ http://mirror/alpine", wantErr: "bad tag"},
		{in: "@edge", wantErr: "expected a URL"},
		{in: "http://a http://b", wantErr: "expected a URL"},
		{in: "  ", wantErr: "empty repository"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRepository(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRepositoriesFile(t *testing.T) {
	text := `# the main mirror
https://dl-cdn.alpinelinux.org/alpine/v3.19/main

  https://dl-cdn.alpinelinux.org/alpine/v3.19/community
@edge https://dl-cdn.alpinelinux.org/alpine/edge/testing
#@old https://old
/srv/local
`
	got, err := ParseRepositoriesFile(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Repository{
		{URL: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main"},
		{URL: "https://dl-cdn.alpinelinux.org/alpine/v3.19/community"},
		{URL: "https://dl-cdn.alpinelinux.org/alpine/edge/testing", Tag: "@edge"},
		{URL: "/srv/local"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("repository %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[2].String() != "@edge https://dl-cdn.alpinelinux.org/alpine/edge/testing" {
		t.Errorf("String() = %q", got[2].String())
	}

	_, err = ParseRepositoriesFile("https://ok\nftp://bad\n\n@edge\n")
	if err == nil {
		t.Fatal("bad lines accepted")
	}
	for _, want := range []string{"line 2: ", `"ftp"`, "line 4: "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLocations(t *testing.T) {
	pkg := &apk.Package{Name: "musl", Version: "1.2.4_git20230717-r4", Arch: "x86_64"}
	noarch := &apk.Package{Name: "alpine-base", Version: "3.19.1-r0"}
	tests := []struct {
		repo      string
		p         *apk.Package
		wantIndex string
		wantPkg   string
	}{
		{"https://m/alpine/v3.19/main", pkg, "https://m/alpine/v3.19/main/aarch64/APKINDEX.tar.gz", "https://m/alpine/v3.19/main/x86_64/musl-1.2.4_git20230717-r4.apk"},
		{"https://m/alpine/v3.19/main", noarch, "https://m/alpine/v3.19/main/aarch64/APKINDEX.tar.gz", "https://m/alpine/v3.19/main/aarch64/alpine-base-3.19.1-r0.apk"},
		{"file:///srv/repo", pkg, "file:///srv/repo/aarch64/APKINDEX.tar.gz", "file:///srv/repo/x86_64/musl-1.2.4_git20230717-r4.apk"},
		{"/srv/repo", noarch, "/srv/repo/aarch64/APKINDEX.tar.gz", "/srv/repo/aarch64/alpine-base-3.19.1-r0.apk"},
		{"/tmp/out/test.tar.gz", pkg, "/tmp/out/test.tar.gz", "/tmp/out/musl-1.2.4_git20230717-r4.apk"},
		{"out/APKINDEX.tar.gz", pkg, "out/APKINDEX.tar.gz", "out/musl-1.2.4_git20230717-r4.apk"},
		{"https://m/x/APKINDEX.tar.gz", pkg, "https://m/x/APKINDEX.tar.gz", "https://m/x/musl-1.2.4_git20230717-r4.apk"},
		{"file:///APKINDEX.tar.gz", pkg, "file:///APKINDEX.tar.gz", "file:///musl-1.2.4_git20230717-r4.apk"},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			r, err := ParseRepository(tt.repo)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.IndexURL("aarch64"); got != tt.wantIndex {
				t.Errorf("IndexURL = %q, want %q", got, tt.wantIndex)
			}
			if got := r.PackageURL(tt.p, "aarch64"); got != tt.wantPkg {
				t.Errorf("PackageURL = %q, want %q", got, tt.wantPkg)
			}
		})
	}
}

func TestCacheNames(t *testing.T) {
	// The expected names were computed independently (Python hashlib).
	got := IndexCacheName("https://dl-cdn.alpinelinux.org/alpine/v3.19/main/x86_64/APKINDEX.tar.gz")
	if want := "APKINDEX.89e52dfd.tar.gz"; got != want {
		t.Errorf("IndexCacheName = %q, want %q", got, want)
	}
	sum, err := apk.ParseChecksum("Q1mcpyM8ftLHlvmaMjdLoBo6zq/Fo=")
	if err != nil {
		t.Fatal(err)
	}
	name, err := PackageCacheName(&apk.Package{Name: "alpine-base", Version: "3.19.1-r0", Checksum: sum})
	if err != nil {
		t.Fatal(err)
	}
	if want := "alpine-base-3.19.1-r0.99ca7233.apk"; name != want {
		t.Errorf("PackageCacheName = %q, want %q", name, want)
	}
	if _, err := PackageCacheName(&apk.Package{Name: "x", Version: "1"}); err == nil || !strings.Contains(err.Error(), "no identity") {
		t.Errorf("a package without identity: %v", err)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 5-9/9", 0, 0, false},
		{"bytes 9-5/20", 0, 0, false},
		{"bytes */20", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		start, total, ok := parseContentRange(tt.in)
		if ok != tt.ok || ok && (start != tt.start || total != tt.total) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, start, total, ok, tt.start, tt.total, tt.ok)
		}
	}
}
