package manifest

import (
	"path"
	"strconv"
	"strings"
)

// The lexical rules shared by validation and the JSON Schema.
var (
	// accountName is shadow's default NAME_REGEX, at most 32 characters.
	accountName = lazy(`^[a-z_][a-z0-9_-]*\$?$`)
	// serviceName is an /etc/init.d file name (net.eth0, agetty.ttyS0).
	serviceName = lazy(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// packageName is an apk name, also a provided one (so:libz.so.1, cmd:ssh).
	packageName   = lazy(`^[A-Za-z0-9][A-Za-z0-9._+:-]*$`)
	octalMode     = lazy(`^[0-7]{3,4}$`)
	sha256Hex     = lazy(`^[0-9a-fA-F]{64}$`)
	envName       = lazy(`^[A-Za-z_][A-Za-z0-9_]*$`)
	moduleName    = lazy(`^[A-Za-z0-9_-]+$`)
	timezoneName  = lazy(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)+$`)
	ifaceName     = lazy(`^[A-Za-z0-9_.:-]{1,15}$`)
	sysctlKey     = lazy(`^-?[A-Za-z0-9_*][A-Za-z0-9_*.:/-]*$`)
	cgroupKey     = lazy(`^[a-z]+(\.[a-z_]+)+$`)
	alpineVersion = lazy(`^(v[0-9]+\.[0-9]+|edge|latest-stable)$`)
	repoTag       = lazy(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	cryptHash     = lazy(`^\$[0-9a-z]+\$[^:\s]+$`)
	memorySize    = lazy(`^(max|[0-9]+[KMGTkmgt]?)$`)
	numberOrMax   = lazy(`^(max|[0-9]+)$`)
	cpuMax        = lazy(`^(max|[0-9]+)( [0-9]+)?$`)
)

// Supervisors and architectures cairn knows.
var (
	supervisors = []string{"supervise-daemon", "start-stop-daemon"}
	arches      = []string{"x86_64", "x86", "aarch64", "armhf", "armv7", "ppc64le", "s390x", "riscv64", "loongarch64"}
)

// Account ids cairn accepts: 0 up to 2^32-2 (2^32-1 is the kernel's
// "no id").
const maxID = 1<<32 - 2

func validAccountName(s string) bool { return len(s) <= 32 && accountName.MatchString(s) }

// validOwner accepts user:group with names or numeric ids.
func validOwner(s string) bool {
	u, g, ok := strings.Cut(s, ":")
	return ok && validOwnerPart(u) && validOwnerPart(g)
}

func validOwnerPart(s string) bool {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return n <= maxID
	}
	return validAccountName(s)
}

// validHostname follows RFC 1123: dot-separated labels of letters, digits
// and inner hyphens, each at most 63 characters, 253 in all.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// absPathProblem says what is wrong with p as an absolute path, or "".
func absPathProblem(p, example string) string {
	switch {
	case p == "":
		return "missing: give an absolute path like " + example
	case !strings.HasPrefix(p, "/"):
		return quoted(p) + " is not an absolute path: start it with /, like " + example
	case strings.ContainsAny(p, "\n\x00"):
		return "a path cannot contain a newline or NUL"
	case path.Clean(p) != p:
		return quoted(p) + " is not a clean path: write " + path.Clean(p)
	}
	return ""
}

func hasSpace(s string) bool { return strings.ContainsAny(s, " \t\n\r") }

func oneOf(list []string) string {
	if len(list) == 2 {
		return list[0] + " or " + list[1]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}
