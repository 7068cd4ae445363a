package manifest

import (
	"regexp"
	"sync"
)

// lazyRE is a regular expression compiled on first use: compiled at
// start-up, the manifest's grammars cost every cairn process (package
// scripts start one each) a few milliseconds it mostly does not need.
type lazyRE struct {
	expr string
	re   func() *regexp.Regexp
}

func lazy(expr string) *lazyRE {
	return &lazyRE{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

func (l *lazyRE) String() string                       { return l.expr }
func (l *lazyRE) MatchString(s string) bool            { return l.re().MatchString(s) }
func (l *lazyRE) Match(b []byte) bool                  { return l.re().Match(b) }
func (l *lazyRE) FindStringSubmatch(s string) []string { return l.re().FindStringSubmatch(s) }
