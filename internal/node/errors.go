package node

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/store"
)

// ManifestError is a manifest's problems, each at its file:line:column:
// the manifest does not validate, or work on it (a build, a lock) failed
// on keys it names.
type ManifestError struct {
	File     string
	Problems manifest.Errors
	// Cause is the error the problems were found in, if any (it says,
	// for one, whether the packages are unsatisfiable).
	Cause error
}

func (e *ManifestError) Error() string {
	noun := "problems"
	if len(e.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("%d %s in %s", len(e.Problems), noun, e.File)
}

func (e *ManifestError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Problems}
	}
	return []error{e.Problems, e.Cause}
}

// UnreadableError is a manifest that cannot be read as one (a missing
// file, YAML that does not parse): the input is wrong.
type UnreadableError struct{ Err error }

func (e *UnreadableError) Error() string { return e.Err.Error() }
func (e *UnreadableError) Unwrap() error { return e.Err }

// explain turns an error of work on the manifest f (a build, a lock)
// that names keys of the manifest into those problems, each at its
// file:line:column.
func explain(f *manifest.File, err error) error {
	if err == nil {
		return nil
	}
	if errs := f.Locate(err); len(errs) > 0 {
		return &ManifestError{File: f.Path, Problems: errs, Cause: err}
	}
	return err
}

// NoTrialsError is a trial asked of a store that boots mkinitfs images
// (cairn boot setup --initramfs mkinitfs): nothing would count its tries
// down, so a generation that fails would boot forever.
type NoTrialsError struct{ Generation int }

func (e *NoTrialsError) Error() string {
	return fmt.Sprintf("switch: a trial boot needs cairn-init, and this store boots with mkinitfs images (cairn boot setup --initramfs mkinitfs): "+
		"use cairn switch --permanent %d, or try it once from the loader menu's entry cairn-%d", e.Generation, e.Generation)
}

// ChecksFailedError is a confirmation refused because health checks
// failed; the report returned with it says which.
type ChecksFailedError struct{ Message string }

func (e *ChecksFailedError) Error() string { return e.Message }

// changeError explains an error of a change to the store; on a full file
// system the change was not made (the state is replaced whole or not at
// all).
func changeError(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%s: %w (the file system holding the store is full; nothing was changed: free some space, for example with `cairn gc`, and try again)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// fullHint adds hint to err when a file system was full (ENOSPC,
// EDQUOT): the bare error names a file deep in the tree, not what to do.
func fullHint(err error, hint string) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w (%s)", err, hint)
	}
	return err
}

// Generation returns generation n, or one clear message when it does not
// exist.
func (n *Node) Generation(num int) (store.Generation, error) {
	s := n.Store
	gen, err := s.Get(num)
	if !errors.Is(err, store.ErrNotFound) {
		return gen, err
	}
	gens, lerr := s.Generations()
	if lerr != nil {
		return gen, fmt.Errorf("generation %d does not exist in %s", num, s.Dir())
	}
	if len(gens) == 0 {
		return gen, fmt.Errorf("generation %d does not exist: the store %s has no generations (cairn build makes them)", num, s.Dir())
	}
	nums := make([]int, len(gens))
	for i, g := range gens {
		nums[i] = g.Number
	}
	return gen, fmt.Errorf("generation %d does not exist in %s (it has %s)", num, s.Dir(), NumberRanges(nums))
}

// NumberRanges writes sorted numbers compactly: "1-3, 5, 7-9".
func NumberRanges(nums []int) string {
	var parts []string
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", nums[i], nums[j]))
		} else {
			parts = append(parts, strconv.Itoa(nums[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
