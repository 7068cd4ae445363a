package manifest

import "time"

// MaxHealthTimeout bounds a health check's timeout: a trial boot must
// end in a confirmation or a fallback within a bounded time.
const MaxHealthTimeout = time.Hour

// DefaultHealthTimeout is a health check's timeout when none is given.
const DefaultHealthTimeout = 60 * time.Second

func (v *validator) health(checks []HealthCheck) {
	names := unique{}
	for i, c := range checks {
		p := indexPath("health", i)
		switch {
		case c.Service == "" && c.Command == "":
			v.add(p, "give service (an OpenRC service that must be started) or command (a shell command that must succeed)")
		case c.Service != "" && c.Command != "":
			v.add(p, "give either service or command, not both (make two checks)")
		case c.Service != "" && !serviceName.MatchString(c.Service):
			v.add(keyPath(p, "service"), "%s is not a service name: letters, digits, . _ -", quoted(c.Service))
		}
		if c.Name != "" {
			names.seen(v, keyPath(p, "name"), c.Name, "health check")
		}
		if c.Timeout != "" {
			d, err := time.ParseDuration(c.Timeout)
			if err != nil || d <= 0 || d > MaxHealthTimeout {
				v.add(keyPath(p, "timeout"), "%s is not a timeout: write a duration between 1s and 1h, like 30s or 2m", quoted(c.Timeout))
			}
		}
	}
}
