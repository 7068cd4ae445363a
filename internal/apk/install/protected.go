package install

import (
	"path"
	"strings"
)

// protectMode is how apk treats the files of a directory that may hold
// local configuration (apk_protect_mode).
type protectMode int

const (
	protectNone protectMode = iota
	protectIgnore
	protectChanged
	protectSymlinksOnly
	protectAll
)

// keepsChanges reports whether locally changed files are kept in a
// directory of this mode: a new version is then written beside them as
// .apk-new, and removing the package leaves them.
func (m protectMode) keepsChanges() bool { return m != protectNone && m != protectIgnore }

// defaultProtectedPaths are the rules apk 2.14 always starts with; the
// root's etc/apk/protected_paths.d/*.list add to them.
const defaultProtectedPaths = "+etc\n@etc/init.d\n!etc/apk\n"

type protectRule struct {
	pattern string // relative, slash separated glob
	mode    protectMode
}

// parseProtectedPaths reads a protected paths list: one path glob a line,
// prefixed by '+' (protect changes, the default), '-' (ignore), '@'
// (symlinks only) or '!' (all); '#' starts a comment.
func parseProtectedPaths(text string) []protectRule {
	var rules []protectRule
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		mode := protectChanged
		switch line[0] {
		case '-':
			mode = protectIgnore
		case '+':
		case '@':
			mode = protectSymlinksOnly
		case '!':
			mode = protectAll
		default:
			line = " " + line
		}
		p := strings.Trim(line[1:], "/")
		rules = append(rules, protectRule{pattern: p, mode: mode})
	}
	return rules
}

// protector answers which directories are protected, the way apk derives
// it (apk_db_dir_get): a rule's first component is matched against a
// top-level directory name, the rest of the rule is handed down to that
// directory's children, and a rule's last component sets the mode of the
// directory it matches and, by inheritance, of everything below.
type protector struct {
	rules []protectRule
	dirs  map[string]protectedDir
}

type protectedDir struct {
	mode     protectMode
	children []protectRule
}

func newProtector(rules []protectRule) *protector {
	return &protector{rules: rules, dirs: map[string]protectedDir{}}
}

func (p *protector) dir(dir string) protectedDir {
	if dir == "" {
		return protectedDir{children: p.rules}
	}
	if d, ok := p.dirs[dir]; ok {
		return d
	}
	parent, base := splitPath(dir)
	pd := p.dir(parent)
	d := protectedDir{mode: pd.mode}
	for _, r := range pd.children {
		first, rest, nested := strings.Cut(r.pattern, "/")
		if ok, _ := path.Match(first, base); !ok {
			continue
		}
		if nested {
			d.children = append(d.children, protectRule{pattern: rest, mode: r.mode})
		} else {
			d.mode = r.mode
		}
	}
	p.dirs[dir] = d
	return d
}

// mode returns the protection of the files in dir.
func (p *protector) mode(dir string) protectMode { return p.dir(dir).mode }
