package openrc

import (
	"strconv"
	"strings"
)

// plainByte reports whether c means nothing to the shell anywhere in a
// word, so that a word made only of such bytes needs no quoting.
func plainByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("_@%+=:,./-", c) >= 0
}

// isPlain reports whether s is a non-empty word that the shell reads
// literally, even when it is expanded unquoted and passed through eval.
func isPlain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			return false
		}
	}
	return true
}

// Quote returns s written as one word of POSIX shell that stands for
// exactly s: as it is when it is plain, in single quotes when it holds no
// single quote, in double quotes when it holds a single quote but nothing
// special inside double quotes, and otherwise in single quotes, each
// single quote in s closing them, written as \' and opening them again.
// s must not contain a NUL byte, which no shell variable can hold.
func Quote(s string) string {
	switch {
	case s == "":
		return "''"
	case isPlain(s):
		return s
	case !strings.Contains(s, "'"):
		return "'" + s + "'"
	case !strings.ContainsAny(s, "\"$`\\"):
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// surviveEval reports whether s, written in double quotes, stays exactly
// s when OpenRC expands the variable holding it unquoted (field
// splitting on spaces, tabs and newlines, then globbing) and hands the
// fields to eval, which joins them with single spaces and parses the
// result again. That holds when s has nothing special inside double
// quotes, no tab, newline or carriage return, no run of spaces, and no
// glob character.
func surviveEval(s string) bool {
	return !strings.ContainsAny(s, "\"$`\\\t\n\r*?[") && !strings.Contains(s, "  ")
}

// evalWords writes words as the value of a variable that OpenRC expands
// unquoted into an eval (command_args, supervise_daemon_args). Each word
// is written as it is when plain, in double quotes when that survives
// the eval, and otherwise as a reference "$V" to a variable V of its own
// that holds it verbatim, V being varName(i) for word i; vars lists
// those variables in order as V=value assignments.
func evalWords(words []string, varName func(i int) string) (value string, vars []string) {
	out := make([]string, len(words))
	for i, w := range words {
		switch {
		case isPlain(w):
			out[i] = w
		case surviveEval(w):
			out[i] = `"` + w + `"`
		default:
			v := varName(i)
			vars = append(vars, v+"="+Quote(w))
			out[i] = `"$` + v + `"`
		}
	}
	return strings.Join(out, " "), vars
}

// argVar names the variable holding argument i (counted from 1).
func argVar(i int) string { return "_cairn_arg" + strconv.Itoa(i+1) }
