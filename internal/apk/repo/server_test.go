package repo

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// fixtures is the real Alpine 3.19 data the tests serve: the signed ISO
// repository index and six of its packages.
type fixtures struct {
	dir      string
	keys     *apkfile.Keyring
	index    []byte
	pkgs     []*apk.Package    // index records of the package files, sorted
	files    map[string][]byte // by file name, "alpine-base-3.19.1-r0.apk"
	indexLen int               // packages in the index
}

const keyName = "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"

func loadFixtures(t *testing.T) *fixtures {
	t.Helper()
	dir := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	keys, err := apkfile.LoadKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(dir, "iso-x86_64-APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	si, err := apkfile.ReadIndex(index, apkfile.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	all, err := apk.ParseIndex(si.Text)
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]*apk.Package{}
	for _, p := range all {
		byFile[p.FileName()] = p
	}
	f := &fixtures{dir: dir, keys: keys, index: index, files: map[string][]byte{}, indexLen: len(all)}
	names, err := filepath.Glob(filepath.Join(dir, "packages", "*.apk"))
	if err != nil || len(names) != 6 {
		t.Fatalf("fixture packages: %v %v", names, err)
	}
	for _, name := range names {
		base := filepath.Base(name)
		p := byFile[base]
		if p == nil {
			t.Fatalf("fixture %s is not in the ISO index", base)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f.files[base] = data
		f.pkgs = append(f.pkgs, p)
	}
	return f
}

// pkg returns the index record of a fixture package by name.
func (f *fixtures) pkg(t *testing.T, name string) *apk.Package {
	t.Helper()
	for _, p := range f.pkgs {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no fixture package %s", name)
	return nil
}

// localRepo lays the fixtures out as a repository in a temporary
// directory (symbolic links, nothing copied) and returns its base.
func (f *fixtures) localRepo(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	arch := filepath.Join(base, "x86_64")
	if err := os.Mkdir(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	link(t, filepath.Join(f.dir, "iso-x86_64-APKINDEX.tar.gz"), filepath.Join(arch, "APKINDEX.tar.gz"))
	for name := range f.files {
		link(t, filepath.Join(f.dir, "packages", name), filepath.Join(arch, name))
	}
	return base
}

func link(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// request is what the test server saw of one request.
type request struct {
	Path            string
	Range           string
	IfNoneMatch     string
	IfModifiedSince string
	Status          int
}

// server serves files by URL path with ETag and Last-Modified, answering
// conditional and range requests as a static web server does, and records
// every request. hook, when set, may answer a request instead; n counts
// the requests for that path so far, this one included.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	log   []request
	hook  func(w http.ResponseWriter, r *http.Request, n int) bool
}

const repoPath = "/v3.19/main"

var modTime = time.Date(2024, 1, 27, 12, 0, 0, 0, time.UTC)

// newServer serves the fixture repository under /v3.19/main/x86_64/.
func newServer(t *testing.T, f *fixtures) *server {
	s := &server{files: map[string][]byte{}}
	s.files[repoPath+"/x86_64/APKINDEX.tar.gz"] = f.index
	for name, data := range f.files {
		s.files[repoPath+"/x86_64/"+name] = data
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) repo() Repository { return Repository{URL: s.URL + repoPath} }

func (s *server) setFile(p string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[p] = data
}

func (s *server) setHook(h func(w http.ResponseWriter, r *http.Request, n int) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := 1
	for _, l := range s.log {
		if l.Path == r.URL.Path {
			n++
		}
	}
	s.log = append(s.log, request{
		Path:            r.URL.Path,
		Range:           r.Header.Get("Range"),
		IfNoneMatch:     r.Header.Get("If-None-Match"),
		IfModifiedSince: r.Header.Get("If-Modified-Since"),
	})
	i := len(s.log) - 1
	data, ok := s.files[r.URL.Path]
	hook := s.hook
	s.mu.Unlock()

	// The status is recorded when the header goes out, before the client
	// can see the response, so a test reading the log after its request
	// returned never races with the handler's end.
	sw := &statusWriter{ResponseWriter: w, record: func(code int) {
		s.mu.Lock()
		s.log[i].Status = code
		s.mu.Unlock()
	}}
	if hook != nil && hook(sw, r, n) {
		return
	}
	if !ok {
		http.NotFound(sw, r)
		return
	}
	sum := sha1.Sum(data)
	sw.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	http.ServeContent(sw, r, path.Base(r.URL.Path), modTime, bytes.NewReader(data))
}

// requests returns the recorded requests whose path ends with suffix.
func (s *server) requests(suffix string) []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []request
	for _, l := range s.log {
		if strings.HasSuffix(l.Path, suffix) {
			out = append(out, l)
		}
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	record func(status int)
	sent   bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.sent {
		w.sent = true
		w.record(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// cutAfter sends the first n bytes of data as a response that promises
// all of it, then drops the connection.
func cutAfter(w http.ResponseWriter, data []byte, n int) {
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data[:n])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}
