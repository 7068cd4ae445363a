package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// solverCase is one apk-tools solver test: the arguments apk was run with
// and what it printed.
type solverCase struct {
	args   []string
	expect string
}

func parseSolverCase(text string) solverCase {
	var c solverCase
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
	c.args = testutil.SplitArgs(strings.Join(args, ""))
	c.expect = strings.Join(expect, "")
	return c
}

// apkCommandArgs turns apk-test's argument list into cairn's: the command
// word first, then --simulate and every other argument in order.
func apkCommandArgs(args []string) ([]string, bool) {
	takesValue := map[string]bool{"--test-repo": true, "--test-instdb": true, "--test-world": true, "-t": true, "--virtual": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if takesValue[a] {
			i++
			continue
		}
		switch a {
		case "add", "del", "fix", "upgrade":
			rest := append(append([]string{}, args[:i]...), args[i+1:]...)
			return append([]string{"apk", a, "--simulate"}, rest...), true
		}
	}
	return nil, false
}

func solverSuiteDir(t *testing.T) string {
	if dir := os.Getenv("CAIRN_APK_SOLVER_SUITE"); dir != "" {
		return dir
	}
	return filepath.Join(testutil.Fixtures(t), "apk-tools-2.14", "solver")
}

// TestAPKSolverSuite runs apk-tools 2.14's own solver test cases through
// `cairn apk` and compares the output byte for byte.
func TestAPKSolverSuite(t *testing.T) {
	dir, err := filepath.Abs(solverSuiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("no *.test cases in %s", dir)
	}
	sort.Strings(cases)
	t.Chdir(dir)
	// apk-tools' test binary runs on a fixed clock, which virtual package
	// versions show; cairn takes its clock from SOURCE_DATE_EPOCH.
	t.Setenv("SOURCE_DATE_EPOCH", strconv.Itoa(database.TestModeTime))
	for _, file := range cases {
		name := strings.TrimSuffix(filepath.Base(file), ".test")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := parseSolverCase(string(text))
			args, ok := apkCommandArgs(c.args)
			if !ok {
				t.Fatalf("no add/del/fix/upgrade command in %q", c.args)
			}
			var out bytes.Buffer
			code := Run(context.Background(), args, Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
			got := out.String()
			if got != c.expect {
				t.Errorf("cairn %s\n--- got (exit %d)\n%s--- want\n%s", strings.Join(args, " "), code, got, c.expect)
			}
			isError := strings.Contains(c.expect, "ERROR:")
			if isError && code == 0 {
				t.Errorf("expected a failure exit code for an ERROR case, got 0")
			}
			if !isError && code != 0 {
				t.Errorf("exit code %d for a successful case", code)
			}
		})
	}
}
