package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairnlinux/cairn/internal/store"
)

// Server serves a store's generations over HTTP for nodes to pull:
//
//	GET  /v1/generations             the generations, as JSON
//	GET  /v1/generations/N/offer     the signed offer and the listing
//	POST /v1/generations/N/data      a Request in, the data stream out
//
// Offers are prepared once per generation and kept: generations never
// change.
type Server struct {
	Sender *Sender
	// Log, when set, receives a line per delivery.
	Log func(format string, args ...any)

	mu       sync.Mutex
	prepared map[int]*preparing
}

type preparing struct {
	done chan struct{}
	p    *Prepared
	err  error
}

// GenerationInfo is an entry of GET /v1/generations.
type GenerationInfo struct {
	Generation  int       `json:"generation"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
	Kernel      string    `json:"kernel,omitempty"`
	Packages    int       `json:"packages"`
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/generations", s.list)
	mux.HandleFunc("GET /v1/generations/{n}/offer", s.offer)
	mux.HandleFunc("POST /v1/generations/{n}/data", s.data)
	return mux
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	gens, err := s.Sender.Store.Generations()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out := []GenerationInfo{}
	for _, g := range gens {
		out = append(out, GenerationInfo{Generation: g.Number, Created: g.Meta.Created, Description: g.Meta.Description,
			Kernel: g.Meta.Kernel, Packages: len(g.Meta.Packages)})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) prepare(ctx context.Context, n int) (*Prepared, error) {
	s.mu.Lock()
	if s.prepared == nil {
		s.prepared = map[int]*preparing{}
	}
	p, ok := s.prepared[n]
	if !ok {
		p = &preparing{done: make(chan struct{})}
		s.prepared[n] = p
		go func() {
			p.p, p.err = s.Sender.Prepare(context.Background(), n)
			if p.err != nil {
				s.mu.Lock()
				delete(s.prepared, n) // try again next time
				s.mu.Unlock()
			}
			close(p.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-p.done:
		return p.p, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Server) generation(w http.ResponseWriter, r *http.Request) (*Prepared, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		http.Error(w, "a generation is a positive number", http.StatusBadRequest)
		return nil, false
	}
	p, err := s.prepare(r.Context(), n)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return nil, false
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, false
	}
	return p, true
}

func (s *Server) offer(w http.ResponseWriter, r *http.Request) {
	p, ok := s.generation(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	p.WriteOffer(w)
}

func (s *Server) data(w http.ResponseWriter, r *http.Request) {
	p, ok := s.generation(w, r)
	if !ok {
		return
	}
	var req Request
	if err := json.NewDecoder(io.LimitReader(r.Body, maxMessage)).Decode(&req); err != nil {
		http.Error(w, "request: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	err := p.WriteData(r.Context(), w, req)
	if s.Log != nil {
		s.Log("generation %d to %s: %s, %d contents asked for (%v)", p.gen.Number, r.RemoteAddr, req.Method, len(req.Want), err)
	}
	// An error after the first byte cannot change the status: the stream
	// stops without its end, which the receiver reports.
}

// Pull fetches generation n (0: the newest the server has) from the
// server at base into the receiver's store.
func Pull(ctx context.Context, rc *Receiver, client *http.Client, base string, n int) (Result, error) {
	base = strings.TrimSuffix(base, "/")
	if n == 0 {
		var gens []GenerationInfo
		if err := getJSON(ctx, client, base+"/v1/generations", &gens); err != nil {
			return Result{}, err
		}
		if len(gens) == 0 {
			return Result{}, fmt.Errorf("%s serves no generation", base)
		}
		n = gens[len(gens)-1].Generation
	}
	src := &httpSource{client: client, url: fmt.Sprintf("%s/v1/generations/%d", base, n)}
	defer src.close()
	return rc.Receive(ctx, src)
}

func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := httpError(resp); err != nil {
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func httpError(resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Errorf("%s: %s: %s", resp.Request.URL, resp.Status, strings.TrimSpace(string(msg)))
}

type httpSource struct {
	client *http.Client
	url    string
	bodies []io.Closer
}

func (s *httpSource) do(ctx context.Context, method, url string, body []byte) (io.Reader, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	s.bodies = append(s.bodies, resp.Body)
	if err := httpError(resp); err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (s *httpSource) Offer(ctx context.Context) (io.Reader, error) {
	return s.do(ctx, http.MethodGet, s.url+"/offer", nil)
}

func (s *httpSource) Data(ctx context.Context, req Request) (io.Reader, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := s.do(ctx, http.MethodPost, s.url+"/data", body)
	if err != nil {
		return nil, err
	}
	return &streamReader{r: r}, nil
}

func (s *httpSource) close() {
	for _, b := range s.bodies {
		b.Close()
	}
}

// CountingClient is an HTTP client whose connections count every byte
// they carry (headers included) in c.
func CountingClient(c *Counter) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countedConn{Conn: conn, c: c}, nil
	}
	tr.DisableCompression = true
	return &http.Client{Transport: tr}
}

type countedConn struct {
	net.Conn
	c *Counter
}

func (cc *countedConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.c.received.Add(int64(n))
	return n, err
}

func (cc *countedConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.c.sent.Add(int64(n))
	return n, err
}
