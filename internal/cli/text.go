package cli

import (
	"strconv"
	"strings"
	"unicode"
)

// printable returns s for a terminal: characters that are neither
// graphic nor a space (control characters, bidirectional controls) are
// written as Go escapes (\x1b, \n, \u202e), so that text from a
// generation's record can neither break a table nor drive the terminal.
func printable(s string) string {
	if !strings.ContainsFunc(s, notPrintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if notPrintable(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func notPrintable(r rune) bool { return r != ' ' && !unicode.IsGraphic(r) }
