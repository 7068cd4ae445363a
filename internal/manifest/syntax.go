package manifest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The YAML parser says neither the column of a syntax error nor, reliably,
// its line: for an error of its parser (not its scanner) it prints the
// 0-based line of where the enclosing construct began, or, when that is
// the first line, of where the problem was found. So cairn finds the
// place itself:
//
//   - an unclosed flow collection ([ or {) is reported at its opening
//     bracket: parsing the text again behind one empty line makes the
//     parser name that bracket's line, and the bracket is the last one
//     left open on it;
//   - any other problem is at the first place where a prefix of the text
//     fails with the same problem: the shortest failing prefix of whole
//     lines gives the line, the shortest failing prefix of that line the
//     column (both found by bisection, a few dozen parses at most).

var yamlLine = lazy(`^yaml: line (\d+): (.*)$`)

// parserProblems are the problems reported by the YAML parser rather
// than its scanner (go.yaml.in/yaml/v3's parserc.go).
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxHints say in a user's words what the most common problems mean.
var syntaxHints = map[string]string{
	"did not find expected ',' or ']'":               "this [ is not closed: end the list with ] and separate entries with commas",
	"did not find expected ',' or '}'":               "this { is not closed: end the mapping with } and separate entries with commas",
	"did not find expected key":                      "a key was expected here: check this line's indentation (the keys of one mapping line up)",
	"did not find expected '-' indicator":            "a list entry (- ...) was expected here: check this line's indentation",
	"mapping values are not allowed in this context": "a colon and a space start a key/value pair here: quote the value, or check the indentation",
	"found character that cannot start any token":    "no YAML value starts with this character: quote the value",
	"found unexpected end of stream":                 "the file ends inside a value: is a quote left open?",
}

// syntaxError positions an error of the YAML parser.
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	reported := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		reported, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	e := &Error{File: file, Msg: "YAML syntax: " + msg}
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// The parser names the anchor but not where it is used.
		e.Line = 1
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			e.Line = 1 + bytes.Count(data[:i], []byte("\n"))
			e.Column = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
		return e
	}
	e.Line, e.Column = locateSyntax(data, msg, reported)
	if !tabHint(e, data) && syntaxHints[msg] != "" {
		e.Msg += ": " + syntaxHints[msg]
	}
	return e
}

var unknownAnchor = lazy(`^unknown anchor '(.*)' referenced$`)

// locateSyntax finds the line and column (1-based; column 0 when unknown)
// of the YAML problem msg in data; reported is the line the parser gave.
func locateSyntax(data []byte, msg string, reported int) (line, col int) {
	text := bytes.TrimPrefix(data, []byte("\uFEFF"))
	lines := strings.SplitAfter(string(text), "\n")
	if msg == "did not find expected ',' or ']'" || msg == "did not find expected ',' or '}'" {
		// Behind an empty line, the parser's line is the 1-based line of
		// the opening bracket.
		if p, l := problemOf(append([]byte("\n"), text...)); p == msg && l >= 1 && l <= len(lines) {
			open := byte('[')
			if strings.HasSuffix(msg, "'}'") {
				open = '{'
			}
			return l, unclosed(lines[l-1], open)
		}
	}
	same := func(prefix string) bool { p, _ := problemOf([]byte(prefix)); return p == msg }
	// The shortest prefix of whole lines that fails as the whole text does.
	k := search(len(lines), func(k int) bool { return same(strings.Join(lines[:k], "")) })
	if k > len(lines) {
		return fallbackLine(msg, reported), 0
	}
	before := strings.Join(lines[:k-1], "")
	cur := strings.TrimSuffix(lines[k-1], "\n")
	// Cut only between runes, so no prefix is invalid UTF-8.
	var cuts []int
	for i := range cur {
		if i > 0 {
			cuts = append(cuts, i)
		}
	}
	cuts = append(cuts, len(cur))
	j := search(len(cuts), func(j int) bool { return same(before + cur[:cuts[j-1]]) })
	if j > len(cuts) {
		return k, 0
	}
	// The problem is the last rune of the shortest failing prefix; when
	// that is the colon after a key, the key is the problem.
	end := cuts[j-1]
	if strings.HasSuffix(cur[:end], ":") && (msg == "did not find expected key" || msg == "did not find expected '-' indicator") {
		key := strings.TrimLeft(cur, " ")
		for strings.HasPrefix(key, "- ") {
			key = strings.TrimLeft(key[2:], " ")
		}
		if start := len(cur) - len(key); start < end {
			return k, utf8.RuneCountInString(cur[:start]) + 1
		}
	}
	return k, utf8.RuneCountInString(cur[:end])
}

// search returns the smallest i in [1, n] for which ok(i) holds, assuming
// that it then holds for every larger i; n+1 when it holds for none.
func search(n int, ok func(int) bool) int {
	lo, hi := 1, n+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// fallbackLine corrects the parser's own line: 0-based for parser
// problems, absent for the first line.
func fallbackLine(msg string, reported int) int {
	if parserProblems[msg] {
		return reported + 1
	}
	return max(reported, 1)
}

// problemOf parses data as a YAML stream and returns the first problem
// the parser reports, without its "yaml: line N: " prefix, and that line.
func problemOf(data []byte) (string, int) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := safeDecode(dec, &n)
		if errors.Is(err, io.EOF) {
			return "", 0
		}
		if err != nil {
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				l, _ := strconv.Atoi(m[1])
				return m[2], l
			}
			return strings.TrimPrefix(err.Error(), "yaml: "), 0
		}
	}
}

// unclosed returns the 1-based column of the last bracket open left
// unclosed on line, outside quotes and comments, or 0.
func unclosed(line string, open byte) int {
	closeBy := map[byte]byte{']': '[', '}': '{'}
	type opener struct {
		c   byte
		col int
	}
	var stack []opener
	var quote byte
	col := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c < utf8.RuneSelf || utf8.RuneStart(c) {
			col++
		}
		switch {
		case quote == '"' && c == '\\':
			i++
			col++
		case quote != 0:
			if c == quote {
				if quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
					i++ // '' inside single quotes
					col++
					continue
				}
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			i = len(line)
		case c == '[' || c == '{':
			stack = append(stack, opener{c, col})
		case c == ']' || c == '}':
			if n := len(stack); n > 0 && stack[n-1].c == closeBy[c] {
				stack = stack[:n-1]
			}
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].c == open {
			return stack[i].col
		}
	}
	return 0
}

// tabHint explains the most common cause of a syntax error: a tab in the
// indentation of the line the problem is on.
func tabHint(e *Error, data []byte) bool {
	lines := bytes.Split(data, []byte("\n"))
	if e.Line < 1 || e.Line > len(lines) {
		return false
	}
	line := lines[e.Line-1]
	indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
	i := bytes.IndexByte(indent, '\t')
	if i < 0 {
		return false
	}
	e.Column = i + 1
	e.Msg += " (a tab: YAML indents with spaces only)"
	return true
}
