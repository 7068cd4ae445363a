package install

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cairnlinux/cairn/internal/apk"
)

// ErrLocked is returned when another process holds the root's database
// lock (lib/apk/db/lock).
var ErrLocked = errors.New("the package database is locked by another process")

// ErrUnsupported: package scripts run in a sandbox only Linux has.
var ErrUnsupported = errors.New("running package scripts is only supported on Linux")

// ConflictError reports a file the package would take from another
// installed package that neither shares its name or origin nor is
// replaced by it.
type ConflictError struct {
	Path  string // relative to the root
	Owner string // name-version of the package owning it
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("trying to overwrite %s owned by %s", e.Path, e.Owner)
}

// IdentityError reports a package file that is not the package the index
// describes: its control part hashes to another identity than the index's
// C: field.
type IdentityError struct {
	Want, Got apk.Checksum
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("package identity %s does not match %s from the index: the file is not the package the index lists", e.Got, e.Want)
}

// ScriptError reports a package script that failed; the package is then
// marked broken (f:s) in the database.
type ScriptError struct {
	Package string // name-version
	Script  string // "post-install", "trigger", ...
	Output  []byte // what the script wrote to stdout and stderr
	Err     error
}

func (e *ScriptError) Error() string {
	msg := fmt.Sprintf("%s: %s script: %v", e.Package, e.Script, e.Err)
	if out := bytes.TrimRight(e.Output, "\n"); len(out) > 0 {
		msg += "; its output:\n" + string(out)
	}
	return msg
}

func (e *ScriptError) Unwrap() error { return e.Err }
