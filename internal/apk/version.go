package apk

// This file implements apk-tools 2.14's version ordering (src/version.c).
// The tokenizer is deliberately a close transcription: apk's ordering has
// corner cases (leading zeros, invalid tails, pre-release suffixes) that only
// an exact port reproduces, and cairn must agree with the apk inside the
// systems it builds.

// Comparison results, as bit masks. A dependency's operator is a mask of the
// results it accepts, so ">=" is VersionGreater|VersionEqual.
const (
	VersionEqual   = 1
	VersionLess    = 2
	VersionGreater = 4
	VersionFuzzy   = 8

	// DepMaskAny accepts every version.
	DepMaskAny = VersionEqual | VersionLess | VersionGreater
	// DepMaskChecksum marks a "><" pin: the version field holds a package
	// identity checksum rather than a version.
	DepMaskChecksum = VersionLess | VersionGreater
)

type versionToken int

const (
	tokInvalid versionToken = iota - 1
	tokDigitOrZero
	tokDigit
	tokLetter
	tokSuffix
	tokSuffixNo
	tokRevisionNo
	tokEnd
)

var (
	preSuffixes  = []string{"alpha", "beta", "pre", "rc"}
	postSuffixes = []string{"cvs", "svn", "git", "hg", "p"}
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// nextToken classifies the separator at the head of s and consumes it.
func nextToken(t *versionToken, s *string) {
	n := tokInvalid
	str := *s
	switch {
	case len(str) == 0 || str[0] == 0:
		n = tokEnd
	case (*t == tokDigit || *t == tokDigitOrZero) && isLower(str[0]):
		n = tokLetter
	case *t == tokLetter && isDigit(str[0]):
		n = tokDigit
	case *t == tokSuffix && isDigit(str[0]):
		n = tokSuffixNo
	default:
		switch str[0] {
		case '.':
			n = tokDigitOrZero
		case '_':
			n = tokSuffix
		case '-':
			if len(str) > 1 && str[1] == 'r' {
				n = tokRevisionNo
				str = str[1:]
			}
		}
		str = str[1:]
	}
	*s = str
	if n < *t {
		if !((n == tokDigitOrZero && *t == tokDigit) ||
			(n == tokSuffix && *t == tokSuffixNo) ||
			(n == tokDigit && *t == tokLetter)) {
			n = tokInvalid
		}
	}
	*t = n
}

// getToken reads the value of the token of type *t at the head of s and
// advances to the next token.
func getToken(t *versionToken, s *string) int64 {
	str := *s
	if len(str) == 0 {
		*t = tokEnd
		return 0
	}
	i := 0
	nt := tokInvalid
	var v int64
	switch *t {
	case tokDigitOrZero:
		if str[0] == '0' {
			// Leading zeros beyond the first become a negative value, and
			// the rest of the component is then read as a number.
			for i+1 < len(str) && str[i+1] == '0' {
				i++
			}
			nt = tokDigit
			v = int64(-i)
			break
		}
		fallthrough
	case tokDigit, tokSuffixNo, tokRevisionNo:
		for i < len(str) && isDigit(str[i]) {
			v = v*10 + int64(str[i]-'0')
			i++
		}
		if i >= 18 {
			*t = tokInvalid
			return -1
		}
	case tokLetter:
		v = int64(str[i])
		i++
	case tokSuffix:
		found := false
		for k, suf := range preSuffixes {
			if len(str) >= len(suf) && str[:len(suf)] == suf {
				v, i, found = int64(k-len(preSuffixes)), len(suf), true
				break
			}
		}
		if !found {
			for k, suf := range postSuffixes {
				if len(str) >= len(suf) && str[:len(suf)] == suf {
					v, i, found = int64(k), len(suf), true
					break
				}
			}
		}
		if !found {
			*t = tokInvalid
			return -1
		}
	default:
		*t = tokInvalid
		return -1
	}
	str = str[i:]
	*s = str
	switch {
	case len(str) == 0:
		*t = tokEnd
	case nt != tokInvalid:
		*t = nt
	default:
		nextToken(t, s)
	}
	return v
}

// ValidVersion reports whether v is a version apk accepts.
func ValidVersion(v string) bool {
	t := tokDigit
	for t != tokEnd && t != tokInvalid {
		getToken(&t, &v)
	}
	return t == tokEnd
}

// CompareVersions compares two versions as apk does and returns VersionLess,
// VersionEqual or VersionGreater.
func CompareVersions(a, b string) int {
	return compareVersions(a, b, false)
}

func compareVersions(a, b string, fuzzy bool) int {
	at, bt := tokDigit, tokDigit
	var av, bv int64
	for at == bt && at != tokEnd && at != tokInvalid && av == bv {
		av = getToken(&at, &a)
		bv = getToken(&bt, &b)
	}
	if av < bv {
		return VersionLess
	}
	if av > bv {
		return VersionGreater
	}
	if at == bt || fuzzy {
		return VersionEqual
	}
	// The leading components are equal: the longer version is greater,
	// unless what follows is a pre-release suffix.
	tt := at
	if at == tokSuffix && getToken(&tt, &a) < 0 {
		return VersionLess
	}
	tt = bt
	if bt == tokSuffix && getToken(&tt, &b) < 0 {
		return VersionGreater
	}
	if at > bt {
		return VersionLess
	}
	if bt > at {
		return VersionGreater
	}
	return VersionEqual
}

// VersionOpString renders a comparison result or dependency mask the way
// apk prints it.
func VersionOpString(mask int) string {
	switch mask {
	case VersionLess:
		return "<"
	case VersionLess | VersionEqual:
		return "<="
	case VersionEqual | VersionFuzzy, VersionFuzzy:
		return "~"
	case VersionEqual:
		return "="
	case VersionGreater | VersionEqual:
		return ">="
	case VersionGreater:
		return ">"
	case DepMaskChecksum:
		return "><"
	default:
		return "?"
	}
}

// CompareVersionsFuzzy is CompareVersions; with fuzzy set, a that starts
// with all of b's components compares equal (apk's "~" operator).
func CompareVersionsFuzzy(a, b string, fuzzy bool) int {
	return compareVersions(a, b, fuzzy)
}
