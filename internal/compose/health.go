package compose

import (
	"fmt"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// HealthChecks completes the manifest's checks.
func HealthChecks(sys *manifest.System) (layout.Health, error) {
	h := layout.Health{Checks: []layout.HealthCheck{}}
	for i, c := range sys.Health {
		hc := layout.HealthCheck{Name: c.Name, Service: c.Service, Command: c.Command, TimeoutSeconds: int(manifest.DefaultHealthTimeout / time.Second)}
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
	data, err := layout.EncodeHealth(h)
	if err != nil {
		return err
	}
	if err := writeConfig(r, strings.TrimPrefix(layout.HealthFile, "/"), data); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}
