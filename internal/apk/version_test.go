package apk

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestVersionData checks every comparison of apk-tools 2.14's version.data
// (or the file named by CAIRN_APK_VERSION_DATA): "A OP B" means that
// `apk version -t A B` prints OP.
func TestVersionData(t *testing.T) {
	file := os.Getenv("CAIRN_APK_VERSION_DATA")
	if file == "" {
		file = filepath.Join(testutil.Fixtures(t), "apk-tools-2.14", "version.data")
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for lineNo := 1; sc.Scan(); lineNo++ {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		a, op, b := fields[0], fields[1], fields[2]
		if got := VersionOpString(CompareVersions(a, b)); got != op {
			t.Errorf("%s:%d: %s %s %s, got %s", filepath.Base(file), lineNo, a, op, b, got)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s has no cases", file)
	}
	t.Logf("%d comparisons", n)
}

func TestValidVersion(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"1.0", true},
		{"1.0-r1", true},
		{"1.0_alpha2_p3-r4", true},
		{"23.01-r0", true},
		{"1.0a", true},
		{"2023d-r0", true},
		{"", true},      // apk accepts the empty version; the dependency parser never passes one
		{"0.1a1", true}, // 2.14 accepts a digit after a letter; apk 3 does not
		{".1", true},    // and reads a missing leading number as 0
		{"0.1-r2_p3", false},
		{"0.1_foobar", false},
		{"1.0~1234", false}, // commit hashes arrived with apk 3
		{"invalid", false},
		{"1.0-r", true},
		{"123456789012345678", false}, // 18 digits overflow apk's tokenizer
	} {
		if got := ValidVersion(tc.v); got != tc.want {
			t.Errorf("ValidVersion(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	for _, s := range []string{"1.0", "1.0_alpha", "2.0-r1", "0015", "1.0a_p2-r3", "8.2.0015"} {
		f.Add(s, "1.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab := CompareVersions(a, b)
		ba := CompareVersions(b, a)
		if ab != VersionLess && ab != VersionEqual && ab != VersionGreater {
			t.Fatalf("CompareVersions(%q, %q) = %d", a, b, ab)
		}
		_ = ba
		ValidVersion(a)
		if ValidVersion(a) && ValidVersion(b) {
			// On valid versions the order is antisymmetric.
			want := map[int]int{VersionLess: VersionGreater, VersionGreater: VersionLess, VersionEqual: VersionEqual}[ab]
			if ba != want {
				t.Fatalf("CompareVersions(%q,%q)=%s but reversed %s", a, b, VersionOpString(ab), VersionOpString(ba))
			}
		}
	})
}
