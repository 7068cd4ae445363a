package apk

import (
	"fmt"
	"strings"
)

// Dependency is one entry of a depends, provides, install_if, replaces or
// world list, in apk's syntax: [!]name[@tag][op version].
type Dependency struct {
	Name string
	// Version is empty when the dependency names no version. apk never
	// accepts an empty version after an operator, so "" is unambiguous.
	Version string
	// Mask holds the comparison results (VersionLess, VersionEqual,
	// VersionGreater) that satisfy the dependency; DepMaskAny when no
	// version is given, DepMaskChecksum for a "><" identity pin.
	Mask     int
	Conflict bool
	Fuzzy    bool
	// Tag is the repository tag of a world entry, with its '@'
	// ("@edge"), or "" for none.
	Tag string
}

func isDepSeparator(c byte) bool { return c == ' ' || c == '\n' }
func isDepComparer(c byte) bool  { return c == '<' || c == '=' || c == '>' || c == '~' }

// DepSyntaxError reports a dependency that apk would refuse to parse.
type DepSyntaxError struct {
	Text string
}

func (e *DepSyntaxError) Error() string {
	return fmt.Sprintf("%q is not a valid dependency, format is [!]name[@tag][<>~=version]", e.Text)
}

// ParseDependency parses exactly one dependency.
func ParseDependency(s string) (Dependency, error) {
	d, rest, ok := pullDependency(s)
	if !ok || rest != "" {
		return Dependency{}, &DepSyntaxError{Text: s}
	}
	return d, nil
}

// ParseDependencies parses a space or newline separated list. Like apk, it
// stops at the first entry it cannot parse: the entries before it are
// returned together with the error.
func ParseDependencies(s string) ([]Dependency, error) {
	var deps []Dependency
	for len(s) > 0 {
		d, rest, ok := pullDependency(s)
		if !ok {
			tok := s
			if i := strings.IndexAny(tok, " \n"); i >= 0 {
				tok = tok[:i]
			}
			return deps, &DepSyntaxError{Text: tok}
		}
		deps = append(deps, d)
		s = rest
	}
	return deps, nil
}

// pullDependency consumes one token and its trailing separators from s.
// It mirrors apk_blob_pull_dep, including what it accepts.
func pullDependency(s string) (Dependency, string, bool) {
	i := 0
	for i < len(s) && !isDepSeparator(s[i]) {
		i++
	}
	tok := s[:i]
	for i < len(s) && isDepSeparator(s[i]) {
		i++
	}
	rest := s[i:]
	if tok == "" {
		// apk reads a leading separator as an empty, invalid name.
		return Dependency{}, "", false
	}

	d := Dependency{Mask: DepMaskAny}
	if tok[0] == '!' {
		tok = tok[1:]
		d.Conflict = true
	}
	name := tok
	j := 0
	for j < len(tok) && !isDepComparer(tok[j]) {
		j++
	}
	if j < len(tok) {
		name = tok[:j]
		op := tok[j:]
		k := 0
		for k < len(op) && isDepComparer(op[k]) {
			k++
		}
		if k == len(op) {
			return Dependency{}, "", false
		}
		d.Version = op[k:]
		d.Mask = 0
		for _, c := range []byte(op[:k]) {
			switch c {
			case '<':
				d.Mask |= VersionLess
			case '>':
				d.Mask |= VersionGreater
			case '~':
				d.Mask |= VersionFuzzy | VersionEqual
				d.Fuzzy = true
			case '=':
				d.Mask |= VersionEqual
			}
		}
		if d.Mask&DepMaskChecksum != DepMaskChecksum && !ValidVersion(d.Version) {
			return Dependency{}, "", false
		}
		if d.Mask == DepMaskAny {
			// "<=>" accepts every version: apk then ignores the version.
			d.Version, d.Fuzzy = "", false
		}
	}
	if j := strings.IndexByte(name, '@'); j >= 0 {
		d.Tag = name[j:]
		name = name[:j]
	}
	if name == "" {
		// apk would make an empty name of it; nothing can provide one.
		return Dependency{}, "", false
	}
	d.Name = name
	return d, rest, true
}

// String renders the dependency as apk writes it (without the tag, as in
// package metadata).
func (d Dependency) String() string {
	var b strings.Builder
	if d.Conflict {
		b.WriteByte('!')
	}
	b.WriteString(d.Name)
	if d.Version != "" {
		b.WriteString(depOpString(d.Mask))
		b.WriteString(d.Version)
	}
	return b.String()
}

// depOpString renders a dependency's operator from its mask. For the usual
// operators this is what apk prints; apk 2.14 prints "?" for rarer
// combinations it parses (">~"), which cairn writes back as they were given.
func depOpString(mask int) string {
	if mask == DepMaskChecksum {
		return "><"
	}
	var b strings.Builder
	if mask&VersionLess != 0 {
		b.WriteByte('<')
	}
	if mask&VersionGreater != 0 {
		b.WriteByte('>')
	}
	switch {
	case mask&VersionFuzzy != 0:
		b.WriteByte('~')
	case mask&VersionEqual != 0:
		b.WriteByte('=')
	}
	return b.String()
}

// WorldString renders the dependency as a line of /etc/apk/world, with its
// repository tag.
func (d Dependency) WorldString() string {
	var b strings.Builder
	if d.Conflict {
		b.WriteByte('!')
	}
	b.WriteString(d.Name)
	b.WriteString(d.Tag)
	if d.Version != "" {
		b.WriteString(depOpString(d.Mask))
		b.WriteString(d.Version)
	}
	return b.String()
}

// FormatDependencies joins dependencies with spaces, as index files do.
func FormatDependencies(deps []Dependency) string {
	parts := make([]string, len(deps))
	for i, d := range deps {
		parts[i] = d.String()
	}
	return strings.Join(parts, " ")
}

// MatchesVersion reports whether a provider version satisfies the
// dependency's version constraint (ignoring Conflict). An empty provider
// version (a virtual provide) satisfies only unversioned dependencies.
func (d Dependency) matchesVersion(version string) bool {
	if d.Mask == DepMaskAny {
		return true
	}
	if version == "" {
		return false
	}
	return compareVersions(version, d.Version, d.Fuzzy)&d.Mask != 0
}
