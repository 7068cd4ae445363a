package fleetlock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"time"
)

// Paths of the protocol.
const (
	PreRebootPath   = "/v1/pre-reboot"
	SteadyStatePath = "/v1/steady-state"
	// GroupsPath is cairn's read-only extension: every group's slots
	// and holders, for cairn fleet status.
	GroupsPath = "/v1/groups"
	// ProtocolHeader must be "true" on every request.
	ProtocolHeader = "fleet-lock-protocol"
)

// groupName is the protocol's rule for group names.
var groupName = regexp.MustCompile(`^[a-zA-Z0-9.-]+$`)

// Request is a FleetLock request's body.
type Request struct {
	ClientParams ClientParams `json:"client_params"`
}

// ClientParams name the node and its reboot group.
type ClientParams struct {
	ID    string `json:"id"`
	Group string `json:"group"`
}

// Error is a refusal's body, in airlock's form.
type Error struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Server answers FleetLock requests. Groups maps each group to its
// number of slots; a request for another group is refused.
type Server struct {
	Backend Backend
	Groups  map[string]uint64
	// Timeout bounds each request's work with the backend (10 s when 0).
	Timeout time.Duration
	// Log, when set, receives a line per decision.
	Log func(format string, args ...any)
}

// GroupStatus is an entry of GET /v1/groups.
type GroupStatus struct {
	Group      string   `json:"group"`
	TotalSlots uint64   `json:"totalSlots"`
	Holders    []string `json:"holders"`
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PreRebootPath, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, true) })
	mux.HandleFunc("POST "+SteadyStatePath, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, false) })
	mux.HandleFunc("GET "+GroupsPath, s.groups)
	return mux
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	t := s.Timeout
	if t == 0 {
		t = 10 * time.Second
	}
	return context.WithTimeout(r.Context(), t)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, lock bool) {
	if r.Header.Get(ProtocolHeader) != "true" {
		refuse(w, http.StatusBadRequest, "missing_header", "the header fleet-lock-protocol: true is missing")
		return
	}
	var req Request
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&req); err != nil {
		refuse(w, http.StatusBadRequest, "bad_body", "body: "+err.Error())
		return
	}
	p := req.ClientParams
	if p.ID == "" || p.Group == "" {
		refuse(w, http.StatusBadRequest, "bad_body", `client_params needs a non-empty "id" and "group"`)
		return
	}
	if !groupName.MatchString(p.Group) {
		refuse(w, http.StatusBadRequest, "bad_group", fmt.Sprintf("group %q: a group name matches ^[a-zA-Z0-9.-]+$", p.Group))
		return
	}
	slots, ok := s.Groups[p.Group]
	if !ok {
		refuse(w, http.StatusBadRequest, "unknown_group", fmt.Sprintf("unknown group %q (this server has %v)", p.Group, s.groupNames()))
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	var sem Semaphore
	var err error
	if lock {
		sem, err = s.Backend.Update(ctx, p.Group, slots, func(sem *Semaphore) error { return sem.Lock(p.ID) })
	} else {
		sem, err = s.Backend.Update(ctx, p.Group, slots, func(sem *Semaphore) error { sem.Unlock(p.ID); return nil })
	}
	what := map[bool]string{true: "lock", false: "unlock"}[lock]
	switch {
	case errors.Is(err, ErrFull):
		s.logf("%s %s/%s: refused, %v", what, p.Group, p.ID, err)
		refuse(w, http.StatusConflict, "failed_lock", err.Error())
	case err != nil:
		s.logf("%s %s/%s: %v", what, p.Group, p.ID, err)
		refuse(w, http.StatusServiceUnavailable, "backend_error", err.Error())
	default:
		s.logf("%s %s/%s: granted; holders %v of %d", what, p.Group, p.ID, sem.Holders, sem.TotalSlots)
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Server) groupNames() []string {
	var names []string
	for g := range s.Groups {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

func (s *Server) groups(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	out := []GroupStatus{}
	for _, g := range s.groupNames() {
		sem, _, err := s.Backend.Get(ctx, g)
		if err != nil {
			refuse(w, http.StatusServiceUnavailable, "backend_error", err.Error())
			return
		}
		if sem.Holders == nil {
			sem.Holders = []string{}
		}
		out = append(out, GroupStatus{Group: g, TotalSlots: s.Groups[g], Holders: sem.Holders})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(format, args...)
	}
}

func refuse(w http.ResponseWriter, code int, kind, value string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(Error{Kind: kind, Value: value})
}
