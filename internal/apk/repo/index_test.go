package repo

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

func newClient(t *testing.T, f *fixtures) *Client {
	return &Client{CacheDir: t.TempDir(), Keys: f.keys, Arch: "x86_64"}
}

func flipByte(data []byte, i int) []byte {
	out := bytes.Clone(data)
	out[i] ^= 0x01
	return out
}

func TestLoadIndexRemote(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	c := newClient(t, f)
	ctx := context.Background()

	idx, err := c.LoadIndex(ctx, srv.repo())
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Packages) != f.indexLen || idx.Description != "3.19.1" || idx.Signer != keyName || idx.Stale != nil {
		t.Errorf("index: %d packages, description %q, signer %q, stale %v", len(idx.Packages), idx.Description, idx.Signer, idx.Stale)
	}
	wantURL := srv.URL + "/v3.19/main/x86_64/APKINDEX.tar.gz"
	if idx.URL != wantURL {
		t.Errorf("URL = %q, want %q", idx.URL, wantURL)
	}
	cached := filepath.Join(c.CacheDir, IndexCacheName(wantURL))
	if data, err := os.ReadFile(cached); err != nil || !bytes.Equal(data, f.index) {
		t.Fatalf("cached copy %s: %v (equal: %v)", cached, err, bytes.Equal(data, f.index))
	}

	// The second load is conditional and keeps the cached copy.
	idx2, err := c.LoadIndex(ctx, srv.repo())
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests("APKINDEX.tar.gz")
	if len(reqs) != 2 {
		t.Fatalf("%d index requests, want 2", len(reqs))
	}
	first, second := reqs[0], reqs[1]
	if first.IfNoneMatch != "" || first.IfModifiedSince != "" {
		t.Errorf("first request was conditional: %+v", first)
	}
	if second.IfNoneMatch == "" || second.IfModifiedSince == "" || second.Status != http.StatusNotModified {
		t.Errorf("second request: %+v, want If-None-Match, If-Modified-Since and a 304", second)
	}
	if len(idx2.Packages) != f.indexLen || idx2.Stale != nil {
		t.Errorf("after 304: %d packages, stale %v", len(idx2.Packages), idx2.Stale)
	}

	// A changed index on the server replaces the cached copy.
	srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("ETag", `"new"`)
		w.Write(f.index)
		return true
	})
	if _, err := c.LoadIndex(ctx, srv.repo()); err != nil {
		t.Fatal(err)
	}
	if v := readValidators(cached, wantURL); v.ETag != `"new"` || v.LastModified != "" {
		t.Errorf("validators after a new download: %+v", v)
	}
}

func TestLoadIndexFallback(t *testing.T) {
	f := loadFixtures(t)
	ctx := context.Background()
	tampered := flipByte(f.index, len(f.index)/2)

	tests := []struct {
		name    string
		serve   func(srv *server)
		wantErr string
	}{
		{"server error", func(srv *server) {
			srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			})
		}, "server answered 500 Internal Server Error"},
		{"not found", func(srv *server) {
			srv.setFile(repoPath+"/x86_64/APKINDEX.tar.gz", nil)
			srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
				http.NotFound(w, r)
				return true
			})
		}, "server answered 404 Not Found"},
		{"tampered", func(srv *server) {
			srv.setFile(repoPath+"/x86_64/APKINDEX.tar.gz", tampered)
		}, "downloaded index refused"},
		{"connection cut", func(srv *server) {
			srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
				cutAfter(w, f.index, 1000)
				return true
			})
		}, "download: the connection closed early: unexpected EOF"},
		{"unreachable", func(srv *server) { srv.Close() }, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Without a cached copy, the failure is an error naming the URL.
			srv := newServer(t, f)
			tt.serve(srv)
			c := newClient(t, f)
			_, err := c.LoadIndex(ctx, srv.repo())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "index "+srv.URL+"/v3.19/main/x86_64/APKINDEX.tar.gz: ") {
				t.Fatalf("error %v, want one naming the URL and %q", err, tt.wantErr)
			}
			if entries, _ := os.ReadDir(c.CacheDir); len(entries) != 0 {
				t.Errorf("cache holds %v after a failure", entries)
			}

			// With one, it is used and the failure is a warning.
			srv = newServer(t, f)
			if _, err := c.LoadIndex(ctx, srv.repo()); err != nil {
				t.Fatal(err)
			}
			tt.serve(srv)
			var warnings bytes.Buffer
			c.Warnings = &warnings
			idx, err := c.LoadIndex(ctx, srv.repo())
			if err != nil {
				t.Fatal(err)
			}
			if idx.Stale == nil || !strings.Contains(idx.Stale.Error(), tt.wantErr) || len(idx.Packages) != f.indexLen {
				t.Errorf("stale = %v, %d packages", idx.Stale, len(idx.Packages))
			}
			if !strings.HasPrefix(warnings.String(), "WARNING: index "+idx.URL+": ") || !strings.Contains(warnings.String(), "using the cached copy") {
				t.Errorf("warning %q", warnings.String())
			}
			data, err := os.ReadFile(filepath.Join(c.CacheDir, IndexCacheName(idx.URL)))
			if err != nil || !bytes.Equal(data, f.index) {
				t.Errorf("the good cached copy was replaced or removed: %v", err)
			}
		})
	}
}

func TestLoadIndexStatusError(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
		http.Error(w, "gone", http.StatusGone)
		return true
	})
	_, err := newClient(t, f).LoadIndex(context.Background(), srv.repo())
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusGone {
		t.Fatalf("error %v, want a StatusError 410", err)
	}
}

func TestLoadIndexDamagedCache(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	c := newClient(t, f)
	ctx := context.Background()
	idx, err := c.LoadIndex(ctx, srv.repo())
	if err != nil {
		t.Fatal(err)
	}
	cached := filepath.Join(c.CacheDir, IndexCacheName(idx.URL))
	if err := os.WriteFile(cached, flipByte(f.index, 700), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings bytes.Buffer
	c.Warnings = &warnings
	if _, err := c.LoadIndex(ctx, srv.repo()); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests("APKINDEX.tar.gz")
	if last := reqs[len(reqs)-1]; last.IfNoneMatch != "" || last.Status != http.StatusOK {
		t.Errorf("a damaged cached copy was revalidated: %+v", last)
	}
	if !strings.Contains(warnings.String(), "discarding the cached copy") {
		t.Errorf("warnings %q", warnings.String())
	}
	if data, _ := os.ReadFile(cached); !bytes.Equal(data, f.index) {
		t.Error("the damaged cached copy was not replaced")
	}

	// Offline, a damaged cached copy is no copy at all.
	if err := os.WriteFile(cached, flipByte(f.index, 700), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Offline = true
	if _, err := c.LoadIndex(ctx, srv.repo()); !errors.Is(err, ErrNotCached) {
		t.Fatalf("offline with a damaged cache: %v", err)
	}
}

func TestLoadIndexOffline(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	c := newClient(t, f)
	c.Offline = true
	ctx := context.Background()
	_, err := c.LoadIndex(ctx, srv.repo())
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("offline without a cache: %v", err)
	}
	c.Offline = false
	if _, err := c.LoadIndex(ctx, srv.repo()); err != nil {
		t.Fatal(err)
	}
	c.Offline = true
	idx, err := c.LoadIndex(ctx, srv.repo())
	if err != nil || len(idx.Packages) != f.indexLen {
		t.Fatalf("offline with a cache: %v", err)
	}
	if n := len(srv.requests("")); n != 1 {
		t.Errorf("%d requests, want 1 (offline loads send none)", n)
	}
}

func TestLoadIndexTrust(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	ctx := context.Background()

	c := newClient(t, f)
	c.Keys = apkfile.NewKeyring()
	_, err := c.LoadIndex(ctx, srv.repo())
	if !apkfile.IsUntrusted(err) {
		t.Fatalf("index signed by an unknown key: %v", err)
	}
	c.AllowUntrusted = true
	idx, err := c.LoadIndex(ctx, srv.repo())
	if err != nil || idx.Signer != "" || len(idx.Packages) != f.indexLen {
		t.Fatalf("allowed untrusted: %v", err)
	}
}

func TestLoadIndexLocal(t *testing.T) {
	f := loadFixtures(t)
	base := f.localRepo(t)
	direct := filepath.Join(f.dir, "iso-x86_64-APKINDEX.tar.gz")
	for _, url := range []string{base, "file://" + base, direct, "file://" + direct} {
		t.Run(url, func(t *testing.T) {
			repo, err := ParseRepository(url)
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, f)
			idx, err := c.LoadIndex(context.Background(), repo)
			if err != nil {
				t.Fatal(err)
			}
			if len(idx.Packages) != f.indexLen || idx.Signer != keyName {
				t.Errorf("%d packages, signer %q", len(idx.Packages), idx.Signer)
			}
			if entries, _ := os.ReadDir(c.CacheDir); len(entries) != 0 {
				t.Errorf("a local index was cached: %v", entries)
			}
		})
	}

	c := newClient(t, f)
	missing := Repository{URL: filepath.Join(base, "nothing")}
	_, err := c.LoadIndex(context.Background(), missing)
	if err == nil || !strings.Contains(err.Error(), "index "+missing.URL+"/x86_64/APKINDEX.tar.gz: ") {
		t.Fatalf("missing local index: %v", err)
	}
	c.Arch = ""
	if _, err := c.LoadIndex(context.Background(), Repository{URL: base}); err == nil || !strings.Contains(err.Error(), "no architecture") {
		t.Fatalf("no arch: %v", err)
	}
}

func TestLoadIndexCancelled(t *testing.T) {
	f := loadFixtures(t)
	srv := newServer(t, f)
	c := newClient(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := c.LoadIndex(ctx, srv.repo()); err != nil {
		t.Fatal(err)
	}
	// A cancelled refresh does not fall back to the cached copy.
	cancel()
	if _, err := c.LoadIndex(ctx, srv.repo()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled load: %v", err)
	}
}
