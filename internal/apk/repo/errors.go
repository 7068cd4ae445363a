package repo

import (
	"errors"
	"fmt"
	"net/url"
)

// ErrNotCached reports that something remote is needed while the network
// is off (Client.Offline) and the cache holds no verified copy.
var ErrNotCached = errors.New("not in the cache, and network access is off (--no-network)")

// PackageError reports a package that could not be fetched or did not
// verify, naming the package and its repository.
type PackageError struct {
	Package string // "name-version"
	Repo    string // the repository's URL
	Err     error
}

func (e *PackageError) Error() string {
	return fmt.Sprintf("%s from %s: %v", e.Package, e.Repo, e.Err)
}

func (e *PackageError) Unwrap() error { return e.Err }

// MismatchError reports a package file that differs from what the
// repository's index says about it.
type MismatchError struct {
	Field string // "size" or "identity"
	Got   string
	Want  string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s %s, index says %s", e.Field, e.Got, e.Want)
}

// StatusError reports an HTTP response that is neither content nor "not
// modified".
type StatusError struct {
	StatusCode int
	Status     string // "404 Not Found"
}

func (e *StatusError) Error() string { return "server answered " + e.Status }

// netError drops the "Get <url>:" wrapping of a transport error: the
// callers name the URL themselves.
func netError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
