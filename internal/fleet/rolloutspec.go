package fleet

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// RolloutSpec is the fleet file's `rollout:` section: how `cairn rollout`
// proceeds through the nodes.
type RolloutSpec struct {
	// Order names nodes and groups ("group:NAME"), first first; nodes not
	// named follow in the file's order.
	Order []string `yaml:"order,omitempty"`
	// BatchSize is how many nodes a batch delivers to and tries at once
	// (default 1); MaxUnavailable how many of a batch may be rebooting
	// or on trial at the same time (default: the batch size). The
	// FleetLock groups' slots bound it further.
	BatchSize      int `yaml:"batchSize,omitempty"`
	MaxUnavailable int `yaml:"maxUnavailable,omitempty"`
	// TrialTimeout bounds the wait for a node's trial to end (reboot,
	// health checks, confirmation): a trial not confirmed by then failed
	// (default 10m).
	TrialTimeout string `yaml:"trialTimeout,omitempty"`
	// OnFailure is the halt policy: "halt" (the default: no node starts
	// after a failed trial; nodes of the batch already rebooting finish
	// their trials) or "halt-now" (the rollout stops waiting for the
	// batch's other nodes at once; they finish on their own and a
	// resumed rollout reads their outcome).
	OnFailure string `yaml:"onFailure,omitempty"`
	// Checks are health gates from the outside, run after a node's trial
	// confirmed itself; a check that does not pass within its timeout
	// fails the trial.
	Checks []Check `yaml:"checks,omitempty"`
	// Windows are when nodes may reboot (UTC); none means any time.
	Windows []Window `yaml:"windows,omitempty"`
	// Reboot is the command run on a node to reboot it (default
	// [reboot]).
	Reboot []string `yaml:"reboot,omitempty"`
	// State is the rollout's journal (progress, rejected generations);
	// default: beside the fleet file, NAME.rollout.json.
	State string `yaml:"state,omitempty"`
}

// Check is a health gate run from the operator's machine against a
// node: an HTTP GET answering 2xx, or a TCP connection accepted.
// "{host}" and "{name}" in URL and TCP are the node's host and name.
type Check struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url,omitempty"`
	TCP  string `yaml:"tcp,omitempty"`
	// Timeout is how long the check is retried until it passes
	// (default 60s).
	Timeout string `yaml:"timeout,omitempty"`
}

// Window is a time of the week when nodes may reboot: on Days (mon..sun;
// all when empty), from Start to End (HH:MM, UTC; End before Start runs
// past midnight).
type Window struct {
	Days  []string `yaml:"days,omitempty"`
	Start string   `yaml:"start"`
	End   string   `yaml:"end"`
}

// Halt policies.
const (
	OnFailureHalt    = "halt"
	OnFailureHaltNow = "halt-now"
)

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (r *RolloutSpec) check(f *File) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("rollout."+format, a...)) }
	names := map[string]bool{}
	groups := map[string]bool{}
	for _, n := range f.Nodes {
		names[n.Name] = true
		for _, g := range n.Groups {
			groups[g] = true
		}
	}
	for i, o := range r.Order {
		if g, ok := strings.CutPrefix(o, "group:"); ok {
			if !groups[g] {
				bad("order[%d]: no node is in group %q (a node's groups: [...])", i, g)
			}
		} else if !names[o] {
			bad("order[%d]: no node is named %q (write group:NAME for a group)", i, o)
		}
	}
	if r.BatchSize < 0 || r.MaxUnavailable < 0 {
		bad("batchSize and maxUnavailable: at least 1 (got %d, %d)", r.BatchSize, r.MaxUnavailable)
	}
	if r.BatchSize == 0 {
		r.BatchSize = 1
	}
	if r.MaxUnavailable == 0 || r.MaxUnavailable > r.BatchSize {
		r.MaxUnavailable = r.BatchSize
	}
	if _, err := duration(r.TrialTimeout, 10*time.Minute); err != nil {
		bad("trialTimeout: %v", err)
	}
	switch r.OnFailure {
	case "":
		r.OnFailure = OnFailureHalt
	case OnFailureHalt, OnFailureHaltNow:
	default:
		bad("onFailure: %q is not a policy (halt or halt-now)", r.OnFailure)
	}
	for i, c := range r.Checks {
		where := fmt.Sprintf("checks[%d] (%s)", i, c.Name)
		if c.Name == "" {
			bad("checks[%d].name: every check needs a name", i)
		}
		if (c.URL == "") == (c.TCP == "") {
			bad("%s: give either url (HTTP GET, 2xx passes) or tcp (host:port accepts)", where)
		}
		if c.URL != "" {
			if u, err := url.Parse(strings.NewReplacer("{host}", "h", "{name}", "n").Replace(c.URL)); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				bad("%s.url: %q is not an http:// or https:// URL", where, c.URL)
			}
		}
		if _, err := duration(c.Timeout, time.Minute); err != nil {
			bad("%s.timeout: %v", where, err)
		}
	}
	for i, w := range r.Windows {
		if _, _, err := w.minutes(); err != nil {
			bad("windows[%d]: %v", i, err)
		}
		for _, d := range w.Days {
			if !slices.Contains(weekdays, strings.ToLower(d)) {
				bad("windows[%d].days: %q is not a day (mon, tue, wed, thu, fri, sat, sun)", i, d)
			}
		}
	}
	if len(r.Reboot) == 0 {
		r.Reboot = []string{"reboot"}
	}
	return errs
}

// TrialTimeoutDuration is TrialTimeout, parsed.
func (r RolloutSpec) TrialTimeoutDuration() time.Duration {
	d, _ := duration(r.TrialTimeout, 10*time.Minute)
	return d
}

// TimeoutDuration is the check's timeout, parsed.
func (c Check) TimeoutDuration() time.Duration {
	d, _ := duration(c.Timeout, time.Minute)
	return d
}

func duration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration like 90s or 10m", s)
	}
	return d, nil
}

func clock(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (UTC)", s)
	}
	return h*60 + m, nil
}

func (w Window) minutes() (start, end int, err error) {
	if start, err = clock(w.Start); err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	if end, err = clock(w.End); err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	if start == end {
		return 0, 0, fmt.Errorf("start and end are both %s: an empty window", w.Start)
	}
	return start, end, nil
}

// open reports whether t (UTC) falls in the window. A window running past
// midnight belongs to the day it starts on.
func (w Window) open(t time.Time) bool {
	start, end, err := w.minutes()
	if err != nil {
		return false
	}
	t = t.UTC()
	m := t.Hour()*60 + t.Minute()
	day := func(d time.Weekday) bool {
		return len(w.Days) == 0 || slices.ContainsFunc(w.Days, func(s string) bool { return strings.EqualFold(s, weekdays[d]) })
	}
	if start < end {
		return m >= start && m < end && day(t.Weekday())
	}
	return (m >= start && day(t.Weekday())) || (m < end && day((t.Weekday()+6)%7))
}

// NextReboot returns the first time at or after now when the windows let
// a node reboot: now itself when there are no windows or one is open.
func (r RolloutSpec) NextReboot(now time.Time) time.Time {
	if len(r.Windows) == 0 {
		return now
	}
	t := now.UTC().Truncate(time.Minute)
	if slices.ContainsFunc(r.Windows, func(w Window) bool { return w.open(now) }) {
		return now
	}
	for i := 0; i <= 8*24*60; i++ { // a week and a day, minute by minute
		t = t.Add(time.Minute)
		if slices.ContainsFunc(r.Windows, func(w Window) bool { return w.open(t) }) {
			return t
		}
	}
	return now // unreachable: a valid window opens within a week
}

// Sequence returns the nodes in rollout order.
func (f *File) Sequence() []NodeSpec {
	var out []NodeSpec
	seen := map[string]bool{}
	add := func(n NodeSpec) {
		if !seen[n.Name] {
			seen[n.Name] = true
			out = append(out, n)
		}
	}
	for _, o := range f.Rollout.Order {
		g, isGroup := strings.CutPrefix(o, "group:")
		for _, n := range f.Nodes {
			if (isGroup && slices.Contains(n.Groups, g)) || (!isGroup && n.Name == o) {
				add(n)
			}
		}
	}
	for _, n := range f.Nodes {
		add(n)
	}
	return out
}
