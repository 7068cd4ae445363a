package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Rules are btrbk-style retention rules, written like "5 48h 7d 4w 12m":
//
//   - N keeps the N newest generations;
//   - Nh, Nd, Nw, Nm, Ny keep the first generation of each of the last N
//     hours, days, weeks, months or years; "*" for N keeps every one.
//
// See Retain for the exact semantics.
type Rules struct {
	Newest  int
	Hourly  int
	Daily   int
	Weekly  int
	Monthly int
	Yearly  int
}

// All is the count "*": every bucket, however old.
const All = -1

// units maps a rule's suffix to its field.
var units = []struct {
	suffix byte
	name   string
	field  func(*Rules) *int
}{
	{'h', "hourly", func(r *Rules) *int { return &r.Hourly }},
	{'d', "daily", func(r *Rules) *int { return &r.Daily }},
	{'w', "weekly", func(r *Rules) *int { return &r.Weekly }},
	{'m', "monthly", func(r *Rules) *int { return &r.Monthly }},
	{'y', "yearly", func(r *Rules) *int { return &r.Yearly }},
}

// ParseRules parses rules such as "5 48h 7d 4w 12m" (separated by spaces
// or commas, in any order, each unit at most once).
func ParseRules(text string) (Rules, error) {
	var r Rules
	fields := strings.FieldsFunc(text, func(c rune) bool { return c == ' ' || c == ',' || c == '\t' })
	if len(fields) == 0 {
		return r, errors.New("no retention rules (for example: '5 48h 7d 4w 12m')")
	}
	seen := map[byte]bool{}
	for _, f := range fields {
		if err := r.parseOne(f, seen); err != nil {
			return Rules{}, fmt.Errorf("retention rule %q: %w", f, err)
		}
	}
	return r, nil
}

func (r *Rules) parseOne(f string, seen map[byte]bool) error {
	if f == "*" {
		return errors.New(`"*" needs a unit (h, d, w, m or y)`)
	}
	last := f[len(f)-1]
	if last >= '0' && last <= '9' {
		n, err := count(f)
		if err != nil {
			return err
		}
		if seen[0] {
			return errors.New("the number of newest generations is given twice")
		}
		seen[0] = true
		r.Newest = n
		return nil
	}
	for _, u := range units {
		if u.suffix != last {
			continue
		}
		if seen[last] {
			return fmt.Errorf("%s rule given twice", u.name)
		}
		seen[last] = true
		n, err := count(f[:len(f)-1])
		if err != nil {
			return err
		}
		*u.field(r) = n
		return nil
	}
	return fmt.Errorf("unknown unit %q (use h, d, w, m or y, or a bare number for the newest)", string(last))
}

func count(s string) (int, error) {
	if s == "*" {
		return All, nil
	}
	digits := s != "" && strings.Trim(s, "0123456789") == ""
	n, err := strconv.Atoi(s)
	if !digits || err != nil {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	if n == 0 {
		return 0, errors.New("a count of 0 keeps nothing; leave the rule out")
	}
	return n, nil
}

// String writes the rules back in canonical order: "5 48h 7d 4w 12m".
func (r Rules) String() string {
	var parts []string
	if r.Newest > 0 {
		parts = append(parts, strconv.Itoa(r.Newest))
	}
	for _, u := range units {
		switch n := *u.field(&r); {
		case n == All:
			parts = append(parts, "*"+string(u.suffix))
		case n > 0:
			parts = append(parts, strconv.Itoa(n)+string(u.suffix))
		}
	}
	return strings.Join(parts, " ")
}
