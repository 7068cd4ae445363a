package manifest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The quantities of tenants and containers: sizes, CPU shares and
// intervals, read the same way by validation and by the packages that
// turn them into kernel settings.

var sizeText = lazy(`^([0-9]+)([KMGTkmgt]?)$`)

// ParseSize reads a size such as 50G, 512M or 1048576 (bytes): K, M, G and
// T are powers of 1024, as the kernel reads memory.max.
func ParseSize(s string) (uint64, error) {
	m := sizeText.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%s is not a size: write a number with K, M, G or T, like 512M or 50G", quoted(s))
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is too large", quoted(s))
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[strings.ToLower(m[2])]
	if n > math.MaxUint64>>shift {
		return 0, fmt.Errorf("%s is too large", quoted(s))
	}
	if n == 0 {
		return 0, fmt.Errorf("%s is nothing: give a size above 0", quoted(s))
	}
	return n << shift, nil
}

// CPUPeriod is the cgroup period, in microseconds, of the cpu.max cairn
// writes for a CPU quota (the kernel's default period).
const CPUPeriod = 100000

// ParseCPUQuota reads a number of CPUs ("2.0", "0.5", "1") as the quota of
// cpu.max per CPUPeriod: 2.0 is 200000 microseconds in every 100000.
func ParseCPUQuota(s string) (uint64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(s, "eExX_") {
		return 0, fmt.Errorf("%s is not a number of CPUs: write one like \"2.0\" or \"0.5\"", quoted(s))
	}
	quota := math.Round(f * CPUPeriod)
	switch {
	case quota < 1000:
		return 0, fmt.Errorf("%s is less than the kernel's smallest share (0.01 of a CPU)", quoted(s))
	case f > 4096:
		return 0, fmt.Errorf("%s is more CPUs than Linux has", quoted(s))
	}
	return uint64(quota), nil
}

// ParseInterval reads an interval such as 6h, 30m or 1d (days and weeks
// as 24 and 168 hours; Go's durations otherwise). It is at least a minute.
func ParseInterval(s string) (time.Duration, error) {
	text := s
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		text, unit = strings.TrimSuffix(s, "d"), 24*time.Hour
	case strings.HasSuffix(s, "w"):
		text, unit = strings.TrimSuffix(s, "w"), 7*24*time.Hour
	}
	var d time.Duration
	if unit != 0 {
		n, err := strconv.Atoi(text)
		if err != nil || n <= 0 || n > 520 {
			return 0, fmt.Errorf("%s is not an interval: write one like 6h, 30m or 1d", quoted(s))
		}
		d = time.Duration(n) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%s is not an interval: write one like 6h, 30m or 1d", quoted(s))
		}
	}
	if d < time.Minute {
		return 0, errors.New(quoted(s) + " is shorter than a minute")
	}
	return d, nil
}

// parseTimeout reads a duration of a check (30s, 2m): above 0, at most an
// hour.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s is not a duration: write one like 30s or 2m", quoted(s))
	case d <= 0:
		return 0, fmt.Errorf("%s is not above 0", quoted(s))
	case d > time.Hour:
		return 0, fmt.Errorf("%s is more than an hour", quoted(s))
	}
	return d, nil
}

// gcRetentionRule is one of cairn gc's rules (N, or N with a unit).
var gcRetentionRule = lazy(`^([0-9]+|(\*|[0-9]+)[hdwmy])$`)

// DefaultSnapshotRetention keeps a tenant's snapshots as btrbk's
// snapshot_preserve of the cluster guide does.
const DefaultSnapshotRetention = "48h 7d 4w"

// retentionProblem checks the form of cairn gc's retention rules; the
// store reads their meaning.
func retentionProblem(s string) string {
	fields := strings.FieldsFunc(s, func(c rune) bool { return c == ' ' || c == ',' })
	if len(fields) == 0 {
		return "empty: give rules like '48h 7d 4w' (N newest, N hourly, daily, weekly, monthly, yearly)"
	}
	for _, f := range fields {
		if !gcRetentionRule.MatchString(f) || strings.Trim(f, "0hdwmy") == "" {
			return fmt.Sprintf("%s is not a retention rule: write N (the N newest) or N with h, d, w, m or y, like '48h 7d 4w'", quoted(f))
		}
	}
	return ""
}
