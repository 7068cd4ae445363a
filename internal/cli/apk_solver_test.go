package cli

import (
	"bytes"
	"context"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/testutil"
)

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

// TestAPKRendersSolverErrors runs the cases of apk-tools 2.14's solver
// suite that fail, and one that succeeds, through `cairn apk` and
// compares the output byte for byte: the solver returns its errors as
// values (its own package runs the whole suite, TestAPKToolsSuite), and
// the command line renders them as apk does. A del of names no package
// has shows the one ERROR line a name.
func TestAPKRendersSolverErrors(t *testing.T) {
	dir, err := filepath.Abs(solverSuiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	all, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, file := range all {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(text), "ERROR:") || filepath.Base(file) == "basic1.test" {
			cases = append(cases, file)
		}
	}
	if len(cases) < 2 {
		t.Fatalf("no failing *.test cases in %s", dir)
	}
	sort.Strings(cases)
	t.Chdir(dir)
	// apk-tools' test binary runs on a fixed clock, which virtual package
	// versions show; cairn takes its clock from SOURCE_DATE_EPOCH.
	t.Setenv("SOURCE_DATE_EPOCH", strconv.Itoa(database.TestModeTime))
	run := func(t *testing.T, args []string, expect string) {
		var out bytes.Buffer
		code := Run(context.Background(), args, Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
		got := out.String()
		if got != expect {
			t.Errorf("cairn %s\n--- got (exit %d)\n%s--- want\n%s", strings.Join(args, " "), code, got, expect)
		}
		isError := strings.Contains(expect, "ERROR:")
		if isError && code == 0 {
			t.Errorf("expected a failure exit code for an ERROR case, got 0")
		}
		if !isError && code != 0 {
			t.Errorf("exit code %d for a successful case", code)
		}
	}
	for _, file := range cases {
		name := strings.TrimSuffix(filepath.Base(file), ".test")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := apktest.ParseSolverCase(string(text))
			args, ok := apkCommandArgs(c.Args)
			if !ok {
				t.Fatalf("no add/del/fix/upgrade command in %q", c.Args)
			}
			run(t, args, c.Expect)
		})
	}
	t.Run("del-missing", func(t *testing.T) {
		run(t, []string{"apk", "del", "--simulate", "--test-repo", "basic.repo", "nosuch", "nothere"},
			"ERROR: No such package: nosuch\nERROR: No such package: nothere\n")
	})
}
