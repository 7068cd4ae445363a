package apktest

import (
	"strings"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// SolverCase is one of apk-tools' solver tests (test/solver/*.test): the
// arguments apk was run with and what it printed.
type SolverCase struct {
	Args   []string
	Expect string
}

// ParseSolverCase reads a solver test's @ARGS and @EXPECT blocks.
func ParseSolverCase(text string) SolverCase {
	var block string
	var args, expect []string
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(line, "@") {
			block = strings.TrimSpace(line)
			continue
		}
		switch block {
		case "@ARGS":
			args = append(args, line)
		case "@EXPECT":
			expect = append(expect, line)
		}
	}
	return SolverCase{Args: testutil.SplitArgs(strings.Join(args, "")), Expect: strings.Join(expect, "")}
}
