package image

import (
	"context"
	"errors"
	"time"
)

// Source is the tree an image is made of.
type Source struct {
	// Root is the generation's root directory.
	Root string
	// Epoch is the lock's SOURCE_DATE_EPOCH: no time in an image is later.
	// The zero time stands for 1970-01-01.
	Epoch time.Time
	// Arch is the generation's Alpine architecture (x86_64, aarch64, ...);
	// the formats that record one need it.
	Arch string
}

func (s Source) check() error {
	if s.Root == "" {
		return errors.New("no root directory to make an image of")
	}
	return nil
}

// Format is one kind of image. Write makes the image of src at out, a
// path that must not exist yet: the image appears there complete (it is
// written beside it under a temporary name and renamed), or not at all.
// To replace an image (--force), remove the old one first.
type Format interface {
	// Name is the format's name on the command line (tar, oci, ...).
	Name() string
	Write(ctx context.Context, src Source, out string) (Result, error)
}

// Result says what Write made.
type Result struct {
	// Outputs are the files or directories written, out first.
	Outputs []string
	// Size is the number of bytes written, over all outputs.
	Size int64
	// Entries is the number of tree entries stored, TarSize the length of
	// the uncompressed tar stream they make.
	Entries int
	TarSize int64
	// Skipped are the paths of entries no format can store (sockets).
	Skipped []string
	// Digest identifies the image where the format has such a thing: the
	// OCI image manifest's digest ("sha256:...").
	Digest string
}
