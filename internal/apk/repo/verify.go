package repo

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// verifyFile checks the package file at path against its index record:
// the size (S:), the signature and the identity (C:). With full set it
// also reads the data part, which checks the datahash; a legacy package
// without datahash is always read fully, as only then its identity is
// known.
func verifyFile(ctx context.Context, path string, pkg *apk.Package, opts apkfile.Options, full bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if pkg.Size > 0 && st.Size() != pkg.Size {
		return sizeMismatch(st.Size(), pkg.Size)
	}
	rd, err := apkfile.Open(ctxReader{ctx, f}, opts)
	if err != nil {
		return err
	}
	legacy := rd.DataHash == nil
	if !legacy {
		if err := checkIdentity(rd.Info.Checksum, pkg.Checksum); err != nil {
			return err
		}
	}
	if !full && !legacy {
		return nil
	}
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return err
		}
	}
	return checkIdentity(rd.Info.Checksum, pkg.Checksum)
}

// checkSize checks only the size of the package file at path (S:).
func checkSize(path string, pkg *apk.Package) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if pkg.Size > 0 && st.Size() != pkg.Size {
		return sizeMismatch(st.Size(), pkg.Size)
	}
	return nil
}

func checkIdentity(got, want apk.Checksum) error {
	if !bytes.Equal(got, want) {
		return &MismatchError{Field: "identity", Got: got.String(), Want: want.String()}
	}
	return nil
}

func sizeMismatch(got, want int64) error {
	return &MismatchError{Field: "size", Got: strconv.FormatInt(got, 10), Want: strconv.FormatInt(want, 10)}
}
