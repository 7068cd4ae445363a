package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// testTimeout guards tests whose failure mode is a hang; no test waits
// for it to pass.
const testTimeout = 30 * time.Second

func requests(repo Repository, pkgs ...*apk.Package) []FetchRequest {
	var reqs []FetchRequest
	for _, p := range pkgs {
		reqs = append(reqs, FetchRequest{Repo: repo, Pkg: p})
	}
	return reqs
}

// cacheFiles lists the names in the cache directory, sorted.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// checkFetched asserts that path holds exactly the fixture file of p and
// verifies.
func checkFetched(t *testing.T, f *fixtures, path string, p *apk.Package) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, f.files[p.FileName()]) {
		t.Errorf("%s differs from the fixture %s", path, p.FileName())
	}
	if err := verifyFile(context.Background(), path, p, apkfile.Options{Keys: f.keys}, true); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

func TestFetchParallel(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	c := newClient(t, f)
	c.Parallel = 3

	// The first three package requests wait until all three are in
	// flight: a fetch that is not parallel never releases them.
	var mu sync.Mutex
	inFlight, maxInFlight, arrived := 0, 0, 0
	release := make(chan struct{})
	srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		arrived++
		if arrived == c.Parallel {
			close(release)
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	paths, err := c.Fetch(ctx, requests(srv.repo(), f.pkgs...))
	if err != nil {
		t.Fatal(err)
	}
	if maxInFlight != c.Parallel {
		t.Errorf("at most %d downloads at once, want %d", maxInFlight, c.Parallel)
	}
	var want []string
	for i, p := range f.pkgs {
		name, _ := PackageCacheName(p)
		want = append(want, name)
		if paths[i] != filepath.Join(c.CacheDir, name) {
			t.Errorf("path %d = %s, want %s in the cache", i, paths[i], name)
		}
		checkFetched(t, f, paths[i], p)
	}
	sort.Strings(want)
	if got := cacheFiles(t, c.CacheDir); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cache holds %v, want %v", got, want)
	}

	// Fetching again uses the cache, and a duplicate request is served
	// once.
	srv.setHook(nil)
	again, err := c.Fetch(ctx, requests(srv.repo(), append(f.pkgs, f.pkgs[0])...))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.requests(".apk")); n != len(f.pkgs) {
		t.Errorf("%d package requests, want %d (the second fetch is cached)", n, len(f.pkgs))
	}
	if again[len(f.pkgs)] != paths[0] {
		t.Errorf("duplicate request: %s, want %s", again[len(f.pkgs)], paths[0])
	}
}

func TestFetchDamagedCacheEntry(t *testing.T) {
	f := loadFixtures(t)
	base := f.pkg(t, "alpine-base")
	other := f.files[f.pkg(t, "network-extras").FileName()]
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated", f.files[base.FileName()][:1000]},
		{"other package", other},
		{"other package, same size", append(bytes.Clone(other), make([]byte, base.Size)...)[:base.Size]},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, f)
			c := newClient(t, f)
			var warnings bytes.Buffer
			c.Warnings = &warnings
			name, _ := PackageCacheName(base)
			dest := filepath.Join(c.CacheDir, name)
			if err := os.WriteFile(dest, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			path, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: base})
			if err != nil {
				t.Fatal(err)
			}
			checkFetched(t, f, path, base)
			if len(srv.requests(".apk")) != 1 {
				t.Error("the damaged entry was not fetched again")
			}
			if !strings.Contains(warnings.String(), "discarding the damaged cached copy") {
				t.Errorf("warnings %q", warnings.String())
			}
		})
	}
}

func TestFetchResume(t *testing.T) {
	f := loadFixtures(t)
	tz := f.pkg(t, "tzdata")
	data := f.files[tz.FileName()]
	const cut = 100000
	tests := []struct {
		name string
		// second answers the request after the cut; nil serves the file
		// with range support.
		second     func(w http.ResponseWriter, r *http.Request)
		wantStatus int
	}{
		{"range", nil, http.StatusPartialContent},
		{"range ignored", func(w http.ResponseWriter, r *http.Request) { w.Write(data) }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, f)
			srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
				switch {
				case n == 1:
					cutAfter(w, data, cut)
				case tt.second != nil:
					tt.second(w, r)
				default:
					return false
				}
				return true
			})
			c := newClient(t, f)
			path, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: tz})
			if err != nil {
				t.Fatal(err)
			}
			checkFetched(t, f, path, tz)
			reqs := srv.requests(tz.FileName())
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2: %+v", len(reqs), reqs)
			}
			if reqs[0].Range != "" || reqs[1].Range != fmt.Sprintf("bytes=%d-", cut) || reqs[1].Status != tt.wantStatus {
				t.Errorf("requests %+v, want the second from byte %d answered %d", reqs, cut, tt.wantStatus)
			}
			if got := cacheFiles(t, c.CacheDir); len(got) != 1 {
				t.Errorf("cache holds %v, want only the package", got)
			}
		})
	}
}

func TestFetchResumeAcrossCalls(t *testing.T) {
	f := loadFixtures(t)
	tz := f.pkg(t, "tzdata")
	data := f.files[tz.FileName()]
	name, _ := PackageCacheName(tz)

	tests := []struct {
		name      string
		part      []byte
		wantRange []string // the Range header of each request
	}{
		{"good prefix", data[:5000], []string{"bytes=5000-"}},
		{"complete", data, nil},
		{"longer than the package", append(bytes.Clone(data), 'x'), []string{""}},
		{"wrong prefix", bytes.Repeat([]byte{'x'}, 5000), []string{"bytes=5000-", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, f)
			c := newClient(t, f)
			part := filepath.Join(c.CacheDir, name+".part")
			if err := os.WriteFile(part, tt.part, 0o644); err != nil {
				t.Fatal(err)
			}
			path, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: tz})
			if err != nil {
				t.Fatal(err)
			}
			checkFetched(t, f, path, tz)
			var ranges []string
			for _, r := range srv.requests(tz.FileName()) {
				ranges = append(ranges, r.Range)
			}
			if fmt.Sprintf("%q", ranges) != fmt.Sprintf("%q", tt.wantRange) {
				t.Errorf("ranges %q, want %q", ranges, tt.wantRange)
			}
			if _, err := os.Stat(part); !os.IsNotExist(err) {
				t.Errorf("the partial file remains: %v", err)
			}
		})
	}
}

// signalBody closes reached when its reader asks for more after n bytes:
// by then the fetcher has stored those bytes.
type signalBody struct {
	http.RoundTripper
	n       int
	reached chan struct{}
	once    sync.Once
}

func (s *signalBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.RoundTripper.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, s: s}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	s    *signalBody
	seen int
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.seen >= b.s.n {
		b.s.once.Do(func() { close(b.s.reached) })
	}
	n, err := b.ReadCloser.Read(p)
	b.seen += n
	return n, err
}

func TestFetchCancelKeepsPartial(t *testing.T) {
	f := loadFixtures(t)
	tz := f.pkg(t, "tzdata")
	data := f.files[tz.FileName()]
	const sent = 70000
	srv := newServer(t, f)
	srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:sent])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	})
	c := newClient(t, f)
	sig := &signalBody{RoundTripper: http.DefaultTransport, n: sent, reached: make(chan struct{})}
	c.HTTP = &http.Client{Transport: sig}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err = c.FetchPackage(ctx, FetchRequest{Repo: srv.repo(), Pkg: tz})
	}()
	select {
	case <-sig.reached:
	case <-time.After(testTimeout):
		t.Fatal("the download did not start")
	}
	cancel()
	wg.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled fetch: %v", err)
	}
	name, _ := PackageCacheName(tz)
	st, statErr := os.Stat(filepath.Join(c.CacheDir, name+".part"))
	if statErr != nil || st.Size() != sent {
		t.Fatalf("partial file after cancelling: %v, want %d bytes", statErr, sent)
	}

	path, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: tz})
	if err != nil {
		t.Fatal(err)
	}
	checkFetched(t, f, path, tz)
	if reqs := srv.requests(tz.FileName()); len(reqs) != 2 || reqs[1].Range != fmt.Sprintf("bytes=%d-", sent) {
		t.Errorf("the second fetch did not resume: %+v", reqs)
	}
}

func TestFetchRefused(t *testing.T) {
	f := loadFixtures(t)
	base := f.pkg(t, "alpine-base")
	tz := f.pkg(t, "tzdata")
	withSize := func(p *apk.Package, size int64) *apk.Package {
		q := *p
		q.Size = size
		return &q
	}
	withIdentity := func(p *apk.Package, other *apk.Package) *apk.Package {
		q := *p
		q.Checksum = other.Checksum
		return &q
	}
	tzData := f.files[tz.FileName()]
	tests := []struct {
		name    string
		pkg     *apk.Package
		serve   []byte // replaces the file on the server
		keys    *apkfile.Keyring
		wantErr string
	}{
		{name: "flipped byte in the data", pkg: tz, serve: flipByte(tzData, len(tzData)-2000), wantErr: "tzdata-2023d-r0 from %s: "},
		{name: "flipped byte in the control part", pkg: base, serve: flipByte(f.files[base.FileName()], 600), wantErr: "alpine-base-3.19.1-r0 from %s: "},
		{name: "index says larger", pkg: withSize(base, 1519), wantErr: "alpine-base-3.19.1-r0 from %s: size 1518, index says 1519"},
		{name: "index says smaller", pkg: withSize(base, 1517), wantErr: "alpine-base-3.19.1-r0 from %s: size 1518, index says 1517"},
		{name: "other identity", pkg: withIdentity(base, tz), wantErr: "alpine-base-3.19.1-r0 from %s: identity " + base.Checksum.String() + ", index says " + tz.Checksum.String()},
		{name: "untrusted key", pkg: base, keys: apkfile.NewKeyring(), wantErr: "alpine-base-3.19.1-r0 from %s: package signature: UNTRUSTED signature: " + keyName + " (not trusted)"},
		{name: "missing", pkg: &apk.Package{Name: "nothing", Version: "1-r0", Arch: "x86_64", Size: 10, Checksum: base.Checksum}, wantErr: "nothing-1-r0 from %s: server answered 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, f)
			if tt.serve != nil {
				srv.setFile(repoPath+"/x86_64/"+tt.pkg.FileName(), tt.serve)
			}
			c := newClient(t, f)
			if tt.keys != nil {
				c.Keys = tt.keys
			}
			_, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: tt.pkg})
			want := fmt.Sprintf(tt.wantErr, srv.repo().URL)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
			var pe *PackageError
			if !errors.As(err, &pe) || pe.Package != tt.pkg.NameVersion() || pe.Repo != srv.repo().URL {
				t.Errorf("not a PackageError naming the package: %#v", err)
			}
			if got := cacheFiles(t, c.CacheDir); len(got) != 0 {
				t.Errorf("cache holds %v after a refused download", got)
			}
			if n := len(srv.requests(".apk")); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestFetchOneFailureStopsTheRest(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	c := newClient(t, f)
	c.Parallel = 1
	missing := &apk.Package{Name: "nothing", Version: "1-r0", Arch: "x86_64", Size: 10, Checksum: f.pkgs[0].Checksum}
	_, err := c.Fetch(context.Background(), requests(srv.repo(), append([]*apk.Package{missing}, f.pkgs...)...))
	if err == nil || !strings.Contains(err.Error(), "nothing-1-r0 from") || strings.Contains(err.Error(), "canceled") {
		t.Fatalf("error %v", err)
	}
	if n := len(srv.requests(".apk")); n != 1 {
		t.Errorf("%d requests after the first failure, want none", n-1)
	}
}

func TestFetchLocal(t *testing.T) {
	f := loadFixtures(t)
	base := f.localRepo(t)
	direct := t.TempDir()
	link(t, filepath.Join(f.dir, "iso-x86_64-APKINDEX.tar.gz"), filepath.Join(direct, "iso.tar.gz"))
	for name := range f.files {
		link(t, filepath.Join(f.dir, "packages", name), filepath.Join(direct, name))
	}
	for _, tt := range []struct{ url, dir string }{
		{base, filepath.Join(base, "x86_64")},
		{"file://" + base, filepath.Join(base, "x86_64")},
		{filepath.Join(direct, "iso.tar.gz"), direct},
		{"file://" + filepath.Join(direct, "iso.tar.gz"), direct},
	} {
		t.Run(tt.url, func(t *testing.T) {
			repo, err := ParseRepository(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, f)
			paths, err := c.Fetch(context.Background(), requests(repo, f.pkgs...))
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range f.pkgs {
				if want := filepath.Join(tt.dir, p.FileName()); paths[i] != want {
					t.Errorf("path %s, want %s", paths[i], want)
				}
				checkFetched(t, f, paths[i], p)
			}
			if got := cacheFiles(t, c.CacheDir); len(got) != 0 {
				t.Errorf("local packages were copied to the cache: %v", got)
			}

			// Local files are verified like downloads.
			wrong := *f.pkg(t, "alpine-base")
			wrong.Size++
			_, err = c.FetchPackage(context.Background(), FetchRequest{Repo: repo, Pkg: &wrong})
			want := "alpine-base-3.19.1-r0 from " + repo.URL + ": size 1518, index says 1519"
			if err == nil || err.Error() != want {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
}

func TestFetchOffline(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	c := newClient(t, f)
	base := f.pkg(t, "alpine-base")
	c.Offline = true
	_, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: base})
	if !errors.Is(err, ErrNotCached) || !strings.HasPrefix(err.Error(), "alpine-base-3.19.1-r0 from "+srv.repo().URL) {
		t.Fatalf("offline, not cached: %v", err)
	}
	c.Offline = false
	if _, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: base}); err != nil {
		t.Fatal(err)
	}
	c.Offline = true
	path, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: base})
	if err != nil {
		t.Fatal(err)
	}
	checkFetched(t, f, path, base)
	if n := len(srv.requests("")); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestFetchNeeds(t *testing.T) {
	f := loadFixtures(t)
	base := f.pkg(t, "alpine-base")
	remote := Repository{URL: "http://127.0.0.1:1/alpine"}
	noArch := *base
	noArch.Arch = ""
	noID := *base
	noID.Checksum = nil
	tests := []struct {
		name    string
		client  Client
		req     FetchRequest
		wantErr string
	}{
		{"cache dir", Client{Arch: "x86_64"}, FetchRequest{Repo: remote, Pkg: base}, "need a cache directory"},
		{"arch", Client{CacheDir: t.TempDir()}, FetchRequest{Repo: remote, Pkg: &noArch}, "no architecture"},
		{"identity", Client{CacheDir: t.TempDir(), Arch: "x86_64"}, FetchRequest{Repo: remote, Pkg: &noID}, "no identity"},
		{"package", Client{CacheDir: t.TempDir(), Arch: "x86_64"}, FetchRequest{Repo: remote}, "no package given"},
		{"safe name", Client{CacheDir: t.TempDir(), Arch: "x86_64"}, FetchRequest{Repo: remote, Pkg: &apk.Package{Name: "../../etc/passwd", Version: "1", Checksum: base.Checksum}}, `unsafe file name "../../etc/passwd-1.apk"`},
		{"safe version", Client{CacheDir: t.TempDir(), Arch: "x86_64"}, FetchRequest{Repo: remote, Pkg: &apk.Package{Name: "a", Version: "1/../../x", Checksum: base.Checksum}}, "unsafe file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.FetchPackage(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFetchKeepsInterrupting(t *testing.T) {
	f := loadFixtures(t)
	tz := f.pkg(t, "tzdata")
	data := f.files[tz.FileName()]
	srv := newServer(t, f)
	srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
		// Each answer holds the next 1000 bytes, then the connection drops.
		start := (n - 1) * 1000
		w.Header().Set("Content-Length", fmt.Sprint(len(data)-start))
		if start > 0 {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
		}
		w.Write(data[start : start+1000])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	c := newClient(t, f)
	_, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: tz})
	want := "tzdata-2023d-r0 from " + srv.repo().URL + ": download interrupted after 3000 bytes (kept to resume): unexpected EOF"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if n := len(srv.requests(tz.FileName())); n != maxAttempts {
		t.Errorf("%d requests, want %d", n, maxAttempts)
	}
	name, _ := PackageCacheName(tz)
	if st, err := os.Stat(filepath.Join(c.CacheDir, name+".part")); err != nil || st.Size() != 3000 {
		t.Errorf("partial file: %v", err)
	}
}

func TestFetchRangeNotSatisfiable(t *testing.T) {
	// The index says the package is larger than the server's file, and a
	// partial download is longer than that file: the server refuses the
	// range, the download starts again and the size is refused.
	f := loadFixtures(t)
	base := *f.pkg(t, "alpine-base")
	base.Size = 3000
	srv := newServer(t, f)
	c := newClient(t, f)
	name, _ := PackageCacheName(&base)
	if err := os.WriteFile(filepath.Join(c.CacheDir, name+".part"), make([]byte, 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := c.FetchPackage(context.Background(), FetchRequest{Repo: srv.repo(), Pkg: &base})
	if err == nil || !strings.HasSuffix(err.Error(), ": size 1518, index says 3000") {
		t.Fatalf("error %v", err)
	}
	reqs := srv.requests(base.FileName())
	if len(reqs) != 2 || reqs[0].Status != http.StatusRequestedRangeNotSatisfiable || reqs[1].Range != "" {
		t.Errorf("requests %+v", reqs)
	}
	if got := cacheFiles(t, c.CacheDir); len(got) != 0 {
		t.Errorf("cache holds %v", got)
	}
}

// A local package whose data part is damaged is refused by Fetch, unless
// the caller verifies the file itself as it reads it (ReaderVerifies):
// then Fetch checks only its size, and reading the file finds the damage.
func TestFetchLocalReaderVerifies(t *testing.T) {
	f := loadFixtures(t)
	base := t.TempDir()
	arch := filepath.Join(base, "x86_64")
	if err := os.Mkdir(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	p := f.pkg(t, "tzdata")
	data := flipByte(f.files[p.FileName()], len(f.files[p.FileName()])-100)
	if err := os.WriteFile(filepath.Join(arch, p.FileName()), data, 0o644); err != nil {
		t.Fatal(err)
	}
	repo, err := ParseRepository(base)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, f)
	if _, err := c.FetchPackage(context.Background(), FetchRequest{Repo: repo, Pkg: p}); err == nil {
		t.Error("a damaged local package passed a full check")
	}
	path, err := c.FetchPackage(context.Background(), FetchRequest{Repo: repo, Pkg: p, ReaderVerifies: true})
	if err != nil {
		t.Fatalf("with ReaderVerifies: %v", err)
	}
	rd, err := apkfile.Open(bytes.NewReader(data), apkfile.Options{Keys: f.keys})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for err == nil {
		if _, err = rd.Next(); err == nil {
			_, err = io.Copy(io.Discard, rd)
		}
	}
	if err == io.EOF {
		t.Error("reading the damaged package found nothing wrong")
	}
}
