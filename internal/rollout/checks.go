package rollout

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cairnlinux/cairn/internal/fleet"
)

// outsideChecks runs the fleet file's checks against a node, all at
// once, each retried until it passes or its timeout runs out. It returns
// why the node failed them, "" when it passed.
func (r *Rollout) outsideChecks(ctx context.Context, spec fleet.NodeSpec) string {
	checks := r.File.Rollout.Checks
	fails := make([]string, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			if err := r.runCheck(ctx, c, spec); err != nil {
				fails[i] = fmt.Sprintf("outside check %s: %v", c.Name, err)
			}
		})
	}
	wg.Wait()
	var out []string
	for _, f := range fails {
		if f != "" {
			out = append(out, f)
		}
	}
	if len(out) == 0 && len(checks) > 0 {
		r.emit(spec.Name, "checks", "%d outside checks passed", len(checks))
	}
	return strings.Join(out, "; ")
}

func (r *Rollout) runCheck(ctx context.Context, c fleet.Check, spec fleet.NodeSpec) error {
	expand := strings.NewReplacer("{host}", spec.Host, "{name}", spec.Name).Replace
	deadline := r.now().Add(c.TimeoutDuration())
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if c.URL != "" {
			last = r.httpCheck(cctx, expand(c.URL))
		} else {
			var d net.Dialer
			var conn net.Conn
			if conn, last = d.DialContext(cctx, "tcp", expand(c.TCP)); last == nil {
				conn.Close()
			}
		}
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil || !r.now().Before(deadline) {
			return fmt.Errorf("%w (for %s)", last, c.TimeoutDuration())
		}
		if err := r.sleep(ctx, min(r.poll(), time.Second)); err != nil {
			return err
		}
	}
}

func (r *Rollout) httpCheck(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	hc := r.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
