package image

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// writeLayoutArchive writes the layout in lay.dir as an uncompressed tar
// archive, the form skopeo and podman read as oci-archive:FILE. Names
// have no "./" prefix; owners are 0:0, modes 0755 and 0644, times the
// epoch; blobs come in digest order, then index.json and oci-layout.
func writeLayoutArchive(w io.Writer, dir string, lay *ociDir, epoch time.Time) error {
	mtime := epochOf(epoch)
	tw := tar.NewWriter(w)
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	blobs := append([]string(nil), lay.blobs...)
	sort.Strings(blobs)
	names := make([]string, 0, len(blobs)+2)
	for _, b := range blobs {
		names = append(names, "blobs/sha256/"+b)
	}
	names = append(names, "index.json", "oci-layout")
	buf := make([]byte, 1<<20)
	for _, name := range names {
		if err := addArchiveFile(tw, filepath.Join(dir, filepath.FromSlash(name)), name, mtime, buf); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addArchiveFile(tw *tar.Writer, file, name string, mtime time.Time, buf []byte) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: fi.Size(), ModTime: mtime, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := io.CopyBuffer(tw, io.LimitReader(f, fi.Size()), buf); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
