package fleetlock

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// post sends a raw FleetLock request, as any client (Zincati) does.
func post(t *testing.T, url, path, body string, header bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if header {
		req.Header.Set("fleet-lock-protocol", "true")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}

// TestProtocol checks the server against the protocol's requests as
// raw HTTP: the header, the body, groups, slots, recursion.
func TestProtocol(t *testing.T) {
	srv := httptest.NewServer((&Server{Backend: &Memory{}, Groups: map[string]uint64{"default": 1, "workers": 2}}).Handler())
	t.Cleanup(srv.Close)
	body := func(id, group string) string {
		return `{"client_params":{"id":"` + id + `","group":"` + group + `"}}`
	}
	for _, c := range []struct {
		name, path, body string
		header           bool
		code             int
		kind             string
	}{
		{"no header", PreRebootPath, body("a", "default"), false, 400, "missing_header"},
		{"no body", PreRebootPath, "", true, 400, "bad_body"},
		{"no id", PreRebootPath, body("", "default"), true, 400, "bad_body"},
		{"bad group name", PreRebootPath, body("a", "a b"), true, 400, "bad_group"},
		{"unknown group", PreRebootPath, body("a", "other"), true, 400, "unknown_group"},
		{"a locks", PreRebootPath, body("a", "default"), true, 200, ""},
		{"a locks again", PreRebootPath, body("a", "default"), true, 200, ""},
		{"b is refused", PreRebootPath, body("b", "default"), true, 409, "failed_lock"},
		{"b in another group", PreRebootPath, body("b", "workers"), true, 200, ""},
		{"c in that group too", PreRebootPath, body("c", "workers"), true, 200, ""},
		{"d is refused there", PreRebootPath, body("d", "workers"), true, 409, "failed_lock"},
		{"b unlocks without a slot", SteadyStatePath, body("b", "default"), true, 200, ""},
		{"a unlocks", SteadyStatePath, body("a", "default"), true, 200, ""},
		{"a unlocks again", SteadyStatePath, body("a", "default"), true, 200, ""},
		{"b now locks", PreRebootPath, body("b", "default"), true, 200, ""},
	} {
		code, out := post(t, srv.URL, c.path, c.body, c.header)
		if code != c.code || (c.kind != "" && !strings.Contains(out, `"kind":"`+c.kind+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, out, c.code, c.kind)
		}
	}
	groups, err := Groups(context.Background(), nil, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupStatus{{"default", 1, []string{"b"}}, {"workers", 2, []string{"b", "c"}}}
	if len(groups) != 2 || groups[0].Group != want[0].Group || !slices.Equal(groups[0].Holders, want[0].Holders) || !slices.Equal(groups[1].Holders, want[1].Holders) || groups[1].TotalSlots != 2 {
		t.Errorf("groups: %+v, want %+v", groups, want)
	}
}

// TestClient: cairn's client against the server; a refusal for full
// slots is told apart from other failures.
func TestClient(t *testing.T) {
	srv := httptest.NewServer((&Server{Backend: &Memory{}, Groups: map[string]uint64{"default": 1}}).Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	a := &Client{URL: srv.URL, ID: "a", Group: "default"}
	b := &Client{URL: srv.URL + "/", ID: "b", Group: "default"}
	if err := a.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	err := b.Lock(ctx)
	var re *RefusedError
	if !errors.As(err, &re) || !re.Full() || !strings.Contains(err.Error(), "every reboot slot is taken") {
		t.Errorf("b's lock while a holds the slot: %v", err)
	}
	if err := a.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(ctx); err != nil {
		t.Errorf("b's lock after a released: %v", err)
	}
	err = (&Client{URL: srv.URL, ID: "c", Group: "nope"}).Lock(ctx)
	if !errors.As(err, &re) || re.Full() || re.Status != 400 {
		t.Errorf("unknown group: %v", err)
	}
}

func TestSemaphore(t *testing.T) {
	s := Semaphore{TotalSlots: 2}
	for _, id := range []string{"b", "a", "b"} {
		if err := s.Lock(id); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(s.Holders, []string{"a", "b"}) {
		t.Errorf("holders %v", s.Holders)
	}
	if err := s.Lock("c"); !errors.Is(err, ErrFull) {
		t.Errorf("third holder: %v", err)
	}
	s.Unlock("x")
	s.Unlock("a")
	if !slices.Equal(s.Holders, []string{"b"}) {
		t.Errorf("holders %v", s.Holders)
	}
}
