package image

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Images hold the root's secrets (/etc/shadow's hashes, host keys, every
// file only root may read), so what cairn image writes is its owner's
// alone, whatever the umask: files outputFileMode, directories (an
// initramfs's or an OCI layout's) outputDirMode. docs/images.md says so.
const (
	outputFileMode = 0o600
	outputDirMode  = 0o700
)

// checkNew refuses an output path that exists.
func checkNew(out string) error {
	if out == "" {
		return errors.New("no output path")
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("output %s: %w (remove it first to replace it)", out, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("output %s: %w", out, err)
	}
	return nil
}

// outputFile is an image file being written beside its final path.
type outputFile struct {
	out  string
	f    *os.File
	bw   *bufio.Writer
	done bool
}

// createOutput starts writing out, which must not exist, under a
// temporary name in the same directory.
func createOutput(out string) (*outputFile, error) {
	if err := checkNew(out); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	return &outputFile{out: out, f: f, bw: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (o *outputFile) Write(p []byte) (int, error) { return o.bw.Write(p) }

// commit syncs the file and renames it to its final path.
func (o *outputFile) commit() (int64, error) {
	if err := o.bw.Flush(); err != nil {
		return 0, fmt.Errorf("output %s: %w", o.out, err)
	}
	if err := o.f.Chmod(outputFileMode); err != nil {
		return 0, fmt.Errorf("output %s: %w", o.out, err)
	}
	if err := o.f.Sync(); err != nil {
		return 0, fmt.Errorf("output %s: %w", o.out, err)
	}
	fi, err := o.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("output %s: %w", o.out, err)
	}
	if err := o.f.Close(); err != nil {
		return 0, fmt.Errorf("output %s: %w", o.out, err)
	}
	if err := publish(o.f.Name(), o.out); err != nil {
		os.Remove(o.f.Name())
		return 0, err
	}
	o.done = true
	return fi.Size(), syncDir(filepath.Dir(o.out))
}

// abort removes the temporary file unless commit succeeded.
func (o *outputFile) abort() {
	if o.done {
		return
	}
	o.f.Close()
	os.Remove(o.f.Name())
}
