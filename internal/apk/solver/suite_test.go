package solver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// command is an apk-test command line, parsed as apk parses it: the
// options may come before or after the command word.
type command struct {
	test    database.TestOptions
	force   bool
	name    string
	args    []string
	add     solver.AddOptions
	del     solver.DelOptions
	fix     solver.FixOptions
	upgrade solver.UpgradeOptions
}

func parseCommand(args []string) (*command, error) {
	c := &command{}
	value := func(i *int) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%s needs a value", args[*i])
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var err error
		switch a {
		case "--test-repo":
			var v string
			v, err = value(&i)
			c.test.Repos = append(c.test.Repos, v)
		case "--test-instdb":
			c.test.Installed, err = value(&i)
		case "--test-world":
			c.test.World, err = value(&i)
		case "--no-network":
			c.test.NoNetwork = true
		case "--force", "-f", "--force-broken-world":
			c.force = true
		case "--latest", "-l":
			c.add.Latest, c.upgrade.Latest = true, true
		case "--upgrade", "-u":
			c.add.Upgrade, c.fix.Upgrade = true, true
		case "-t", "--virtual":
			c.add.Virtual, err = value(&i)
		case "--rdepends":
			c.del.Rdepends = true
		case "--depends", "-d":
			c.fix.Depends = true
		case "--reinstall":
			c.fix.Reinstall = true
		case "-r":
			c.del.Rdepends, c.fix.Reinstall = true, true
		case "--xattr", "-x":
			c.fix.Xattr = true
		case "--available", "-a":
			c.upgrade.Available = true
		case "--ignore":
			c.upgrade.Ignore = true
		case "--no-self-upgrade":
			c.upgrade.NoSelfUpgrade = true
		case "--prune":
			c.upgrade.Prune = true
		case "--self-upgrade-only":
			c.upgrade.SelfUpgradeOnly = true
		default:
			switch {
			case strings.HasPrefix(a, "-"):
				return nil, fmt.Errorf("option %s: not known to this test", a)
			case c.name == "":
				c.name = a
			default:
				c.args = append(c.args, a)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// run runs the command on a session in apk-tools' test mode, and renders
// its error as apk does.
func (c *command) run(ctx context.Context, out io.Writer) error {
	db, err := database.OpenTest(c.test)
	if err != nil {
		return err
	}
	db.ForceBrokenWorld = c.force
	o := solver.Output{Stdout: out, Stderr: out}
	s := &solver.Session{DB: db, Out: o, Committer: solver.Simulation{Out: o}, Now: time.Unix(database.TestModeTime, 0), Context: ctx}
	switch c.name {
	case "add":
		err = s.Add(c.args, c.add)
	case "del":
		err = s.Del(c.args, c.del)
	case "fix":
		err = s.Fix(c.args, c.fix)
	case "upgrade":
		c.upgrade.Simulate = true
		err = s.Upgrade(c.args, c.upgrade)
	default:
		return fmt.Errorf("no add, del, fix or upgrade command")
	}
	renderError(out, err)
	return err
}

// renderError writes err as apk does: the caller renders the solver's
// errors (cairn apk does so too).
func renderError(w io.Writer, err error) {
	var unsat *solver.UnsatisfiableError
	var missing *solver.MissingError
	switch {
	case err == nil:
	case errors.As(err, &unsat):
		fmt.Fprintf(w, "ERROR: unable to select packages:\n%s", unsat.Report)
	case errors.As(err, &missing):
		for _, m := range missing.Messages() {
			fmt.Fprintf(w, "ERROR: %s\n", m)
		}
	default:
		fmt.Fprintf(w, "ERROR: %v\n", err)
	}
}

func suiteDir(t *testing.T) string {
	if dir := os.Getenv("CAIRN_APK_SOLVER_SUITE"); dir != "" {
		return dir
	}
	return filepath.Join(testutil.Fixtures(t), "apk-tools-2.14", "solver")
}

// TestAPKToolsSuite runs apk-tools 2.14's own solver test cases through
// the solver and compares what it prints, its errors rendered as apk
// renders them, byte for byte.
func TestAPKToolsSuite(t *testing.T) {
	dir, err := filepath.Abs(suiteDir(t))
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
	for _, file := range cases {
		name := strings.TrimSuffix(filepath.Base(file), ".test")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := apktest.ParseSolverCase(string(text))
			cmd, err := parseCommand(c.Args)
			if err != nil {
				t.Fatalf("%q: %v", c.Args, err)
			}
			var out bytes.Buffer
			err = cmd.run(context.Background(), &out)
			if got := out.String(); got != c.Expect {
				t.Errorf("apk %s\n--- got (error %v)\n%s--- want\n%s", strings.Join(c.Args, " "), err, got, c.Expect)
			}
			isError := strings.Contains(c.Expect, "ERROR:")
			if isError && err == nil {
				t.Errorf("an ERROR case returned no error")
			}
			if !isError && err != nil {
				t.Errorf("a successful case returned %v", err)
			}
		})
	}
}
