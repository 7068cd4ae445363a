package fleetlock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client is a node's side of the protocol.
type Client struct {
	// URL is the server's base URL; the protocol's paths are relative
	// to it.
	URL   string
	ID    string
	Group string
	HTTP  *http.Client
}

// RefusedError is a server's refusal.
type RefusedError struct {
	Status int
	Reason Error
}

func (e *RefusedError) Error() string {
	if e.Reason.Value != "" {
		return fmt.Sprintf("refused (%d %s): %s", e.Status, e.Reason.Kind, e.Reason.Value)
	}
	return fmt.Sprintf("refused (HTTP %d)", e.Status)
}

// Full reports whether the refusal says every slot is taken (try again
// later), as opposed to a bad request or a server that cannot decide.
func (e *RefusedError) Full() bool { return e.Reason.Kind == "failed_lock" }

// Lock takes a reboot slot (recursively: holding one already is
// success).
func (c *Client) Lock(ctx context.Context) error { return c.post(ctx, PreRebootPath) }

// Unlock gives the slot back, if held.
func (c *Client) Unlock(ctx context.Context) error { return c.post(ctx, SteadyStatePath) }

func (c *Client) post(ctx context.Context, path string) error {
	body, err := json.Marshal(Request{ClientParams: ClientParams{ID: c.ID, Group: c.Group}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(ProtocolHeader, "true")
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("fleetlock %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	re := &RefusedError{Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &re.Reason) != nil {
		re.Reason = Error{Value: strings.TrimSpace(string(data))}
	}
	return fmt.Errorf("fleetlock %s for %s in group %s: %w", path, c.ID, c.Group, re)
}

// Groups reads cairn's GET /v1/groups from the server.
func Groups(ctx context.Context, hc *http.Client, base string) ([]GroupStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+GroupsPath, nil)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s%s: %s: %s", base, GroupsPath, resp.Status, strings.TrimSpace(string(data)))
	}
	var out []GroupStatus
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
