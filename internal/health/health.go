// Package health runs the checks that decide whether a freshly booted
// generation is good: the manifest's health checks (a service started,
// a command that succeeds), each retried until it passes or its timeout
// runs out, and "no OpenRC service failed".
package health

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/secrets"
)

// Runner runs the checks; its fields let tests stand in for the system.
type Runner struct {
	// Shell runs a command check: exit status 0 passes. Default /bin/sh -c.
	Shell func(ctx context.Context, command string) ([]byte, error)
	// ServiceStarted reports whether an OpenRC service is started.
	// Default: rc-service NAME status, whose exit status 0 means started.
	ServiceStarted func(ctx context.Context, name string) (bool, error)
	// OpenRCDir is OpenRC's state directory (/run/openrc): failed/ lists
	// the services that failed to start.
	OpenRCDir string
	// Interval is the pause between tries of a check that did not pass;
	// one second by default.
	Interval time.Duration
	// Ignore are services whose failure does not count (cairn-confirm
	// itself).
	Ignore []string
	// Root is the booted system ("/"): when set and its generation
	// declares secrets, they must be in place (secrets.Check).
	Root string
}

// Result is one check's outcome.
type Result struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Tries  int    `json:"tries"`
	// Detail says why the last try failed.
	Detail string `json:"detail,omitempty"`
}

// Run runs every check at once and, once they are done, looks for failed
// services. It returns every result; the boot is good when all passed.
func (r *Runner) Run(ctx context.Context, h layout.Health) []Result {
	results := make([]Result, len(h.Checks))
	var wg sync.WaitGroup
	for i, c := range h.Checks {
		wg.Go(func() { results[i] = r.check(ctx, c) })
	}
	wg.Wait()
	results = append(results, r.failedServices())
	if res, ok := r.secrets(); ok {
		results = append(results, res)
	}
	return results
}

// secrets is the check that the generation's secrets are in place, each
// failure named; false when there is nothing to check.
func (r *Runner) secrets() (Result, bool) {
	if r.Root == "" {
		return Result{}, false
	}
	spec, err := secrets.LoadSpec(r.Root)
	if err == nil && len(spec.Secrets) == 0 {
		return Result{}, false
	}
	res := Result{Name: "secrets", Tries: 1, Passed: true}
	if problems := secrets.Check(r.Root); len(problems) > 0 {
		res.Passed, res.Detail = false, strings.Join(problems, "; ")
	}
	return res, true
}

// Passed reports whether every result passed.
func Passed(results []Result) bool {
	for _, r := range results {
		if !r.Passed {
			return false
		}
	}
	return true
}

func (r *Runner) check(ctx context.Context, c layout.HealthCheck) Result {
	res := Result{Name: c.Name}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.TimeoutSeconds)*time.Second)
	defer cancel()
	interval := r.Interval
	if interval == 0 {
		interval = time.Second
	}
	for {
		res.Tries++
		ok, detail := r.try(ctx, c)
		if ok {
			res.Passed, res.Detail = true, ""
			return res
		}
		// A try the timeout cut short ("signal: killed") says less than
		// the last one that ran to its end: keep that one's answer.
		if ctx.Err() == nil || res.Detail == "" {
			res.Detail = detail
		}
		select {
		case <-ctx.Done():
			res.Detail = fmt.Sprintf("%s (gave up after %d tries in %ds)", res.Detail, res.Tries, c.TimeoutSeconds)
			return res
		case <-time.After(interval):
		}
	}
}

func (r *Runner) try(ctx context.Context, c layout.HealthCheck) (bool, string) {
	if c.Service != "" {
		started := r.ServiceStarted
		if started == nil {
			started = rcServiceStarted
		}
		ok, err := started(ctx, c.Service)
		switch {
		case err != nil:
			return false, fmt.Sprintf("service %s: %v", c.Service, err)
		case !ok:
			return false, fmt.Sprintf("service %s is not started", c.Service)
		}
		return true, ""
	}
	shell := r.Shell
	if shell == nil {
		shell = sh
	}
	out, err := shell(ctx, c.Command)
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 200 {
			msg = msg[len(msg)-200:]
		}
		if msg != "" {
			return false, fmt.Sprintf("%s: %v: %s", c.Command, err, msg)
		}
		return false, fmt.Sprintf("%s: %v", c.Command, err)
	}
	return true, ""
}

// failedServices is the check that no OpenRC service failed to start.
func (r *Runner) failedServices() Result {
	res := Result{Name: "no failed services", Tries: 1, Passed: true}
	dir := r.OpenRCDir
	if dir == "" {
		dir = "/run/openrc"
	}
	entries, err := os.ReadDir(filepath.Join(dir, "failed"))
	if errors.Is(err, os.ErrNotExist) {
		return res
	}
	if err != nil {
		res.Passed, res.Detail = false, err.Error()
		return res
	}
	var failed []string
	for _, e := range entries {
		if !contains(r.Ignore, e.Name()) {
			failed = append(failed, e.Name())
		}
	}
	sort.Strings(failed)
	if len(failed) > 0 {
		res.Passed = false
		res.Detail = "OpenRC reports failed services: " + strings.Join(failed, ", ")
	}
	return res
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sh(ctx context.Context, command string) ([]byte, error) {
	return exec.CommandContext(ctx, "/bin/sh", "-c", command).CombinedOutput()
}

func rcServiceStarted(ctx context.Context, name string) (bool, error) {
	err := exec.CommandContext(ctx, "rc-service", name, "status").Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return false, nil
	}
	return err == nil, err
}
