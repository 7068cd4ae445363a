package openrc

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// Error is a service definition that cannot be written as an OpenRC
// service: Path names the manifest key the way the manifest package
// does (services.define.nomad.command, services.define.nomad.args[2]),
// Msg says what is wrong and what would do.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// ManifestError is e as a problem of the manifest, for its caller to
// place at the key's file:line:column.
func (e *Error) ManifestError() *manifest.Error { return &manifest.Error{Path: e.Path, Msg: e.Msg} }

// MissingServiceError is a runlevel that lists a service for which the
// root has no init script and the manifest defines none.
type MissingServiceError struct {
	Runlevel string
	// Index is where the runlevel's list names the service.
	Index   int
	Service string
}

func (e *MissingServiceError) Error() string {
	return e.path() + ": " + e.msg()
}

func (e *MissingServiceError) path() string {
	return indexPath(keyPath("services", e.Runlevel), e.Index)
}

func (e *MissingServiceError) msg() string {
	return fmt.Sprintf("service %s has no /etc/init.d/%s in the root: add the package that provides it to packages, define it under services.define.%s, or add the script with files (inline or skeleton) or an artifact",
		e.Service, e.Service, e.Service)
}

// ManifestError is e as a problem of the manifest (see Error).
func (e *MissingServiceError) ManifestError() *manifest.Error {
	return &manifest.Error{Path: e.path(), Msg: e.msg()}
}

// plainKey matches map keys that a path names without quoting.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// keyPath is the path of key in the mapping at parent, written as the
// manifest package writes paths: parent.key, or parent["key"] when the
// key is not a plain word.
func keyPath(parent, key string) string {
	if !plainKey.MatchString(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	return parent + "." + key
}

// indexPath is the path of item i of the list at parent.
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}
