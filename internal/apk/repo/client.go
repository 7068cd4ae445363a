package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// DefaultParallel is how many packages Fetch downloads at once unless the
// client says otherwise.
const DefaultParallel = 6

// Client loads indexes and fetches packages. Its fields are configuration;
// a Client may be used from several goroutines at once.
type Client struct {
	// CacheDir holds cached indexes and downloaded packages. Remote
	// repositories need one; local repositories are read in place.
	CacheDir string
	// Keys are the trusted signing keys (/etc/apk/keys).
	Keys *apkfile.Keyring
	// AllowUntrusted accepts unsigned indexes and packages and those
	// signed by unknown keys. Damaged data is still refused.
	AllowUntrusted bool
	// Arch is the architecture of the system the packages are for
	// ("x86_64"): it selects the index and is the package directory
	// when an index gives a package no A: field.
	Arch string
	// HTTP is the client for remote repositories; nil means a default
	// one.
	HTTP *http.Client
	// Offline uses only the cache and local repositories (--no-network).
	Offline bool
	// Parallel bounds concurrent downloads; 0 means DefaultParallel.
	Parallel int
	// Progress, when a terminal, shows one updating line while packages
	// are fetched. Nothing is written to it otherwise.
	Progress io.Writer
	// Warnings receives one line for each problem that was worked around,
	// such as a repository that could not be refreshed. nil drops them.
	Warnings io.Writer
}

func (c *Client) options() apkfile.Options {
	return apkfile.Options{Keys: c.Keys, AllowUntrusted: c.AllowUntrusted}
}

func (c *Client) warnf(format string, args ...any) {
	if c.Warnings != nil {
		fmt.Fprintf(c.Warnings, "WARNING: "+format+"\n", args...)
	}
}

// defaultHTTP bounds connecting and waiting for an answer, not the
// transfer: large packages on slow links take as long as they take, and
// the caller's context cancels them.
var defaultHTTP = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		MaxIdleConnsPerHost:   DefaultParallel,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	},
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// get sends a GET request with extra headers.
func (c *Client) get(ctx context.Context, url string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "cairn")
	// Ask for the bytes as stored: a server that labels .tar.gz files
	// "Content-Encoding: gzip" would otherwise have them decompressed.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, netError(err)
	}
	return resp, nil
}

// ctxReader fails reads once ctx is done, so long local reads stop when
// the caller gives up.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

var errNoCacheDir = errors.New("remote repositories need a cache directory")
