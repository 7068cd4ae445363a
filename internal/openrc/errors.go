package openrc

import (
	"fmt"
	"regexp"
	"strconv"
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

// MissingServiceError is a runlevel that lists a service for which the
// root has no init script and the manifest defines none.
type MissingServiceError struct {
	Runlevel string
	Service  string
}

func (e *MissingServiceError) Error() string {
	return fmt.Sprintf("%s: service %s has no /etc/init.d/%s in the root: add the package that provides it to packages, or define it under services.define.%s",
		keyPath("services", e.Runlevel), e.Service, e.Service, e.Service)
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
