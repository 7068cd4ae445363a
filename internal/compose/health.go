package compose

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// HealthPath is where System records the manifest's health checks, for
// cairn confirm in the booted generation.
const HealthPath = "/etc/cairn/health.json"

// Health is the file at HealthPath.
type Health struct {
	Checks []HealthCheck `json:"checks"`
}

// HealthCheck is one check, complete: name and timeout filled in.
type HealthCheck struct {
	Name    string `json:"name"`
	Service string `json:"service,omitempty"`
	Command string `json:"command,omitempty"`
	// TimeoutSeconds is how long the check is retried until it passes.
	TimeoutSeconds int `json:"timeoutSeconds"`
}

// HealthChecks completes the manifest's checks.
func HealthChecks(sys *manifest.System) (Health, error) {
	h := Health{Checks: []HealthCheck{}}
	for i, c := range sys.Health {
		hc := HealthCheck{Name: c.Name, Service: c.Service, Command: c.Command, TimeoutSeconds: int(manifest.DefaultHealthTimeout / time.Second)}
		if hc.Name == "" {
			hc.Name = c.Service + c.Command
		}
		if c.Timeout != "" {
			d, err := time.ParseDuration(c.Timeout)
			if err != nil || d <= 0 {
				return h, fmt.Errorf("health[%d].timeout: %q is not a duration", i, c.Timeout)
			}
			hc.TimeoutSeconds = max(1, int(d.Round(time.Second)/time.Second))
		}
		h.Checks = append(h.Checks, hc)
	}
	return h, nil
}

func writeHealth(r *rootFS, sys *manifest.System) error {
	h, err := HealthChecks(sys)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := writeConfig(r, HealthPath[1:], append(data, '\n')); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}
