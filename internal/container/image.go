// Package container runs a manifest's containers as OpenRC services: at
// build time it reads each image from its OCI archive or layout (checking
// every digest from the pinned manifest down), puts it into the
// generation as an OCI layout, and writes the service that loads it on
// first start, joins its network, runs it as one supervised `podman run`
// in the service's cgroup and waits for its healthcheck; on the node it
// removes the images no generation uses. See docs/containers.md.
package container

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// ImagesDir is where a generation keeps its containers' images, one OCI
// layout per image named by the hex of its manifest digest.
const ImagesDir = "/usr/lib/cairn/images"

// OCI media types.
const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	dockerManifest    = "application/vnd.docker.distribution.manifest.v2+json"
	dockerList        = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []descriptor `json:"manifests"`
}

type imageManifest struct {
	MediaType string       `json:"mediaType"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
}

// Image is a container's image as the build found it.
type Image struct {
	// Container is the container's name.
	Container string `json:"container"`
	// Ref is the manifest's image reference, Digest the digest it pins.
	Ref    string `json:"image"`
	Digest string `json:"digest"`
	// ID is the hex of the config's digest: podman's id of the image.
	ID string `json:"id"`
	// blobs are the manifest, its config and its layers.
	blobs []descriptor
	src   source
}

// Layout is where the image is in the generation.
func (img *Image) Layout() string {
	return ImagesDir + "/" + strings.TrimPrefix(img.Digest, "sha256:")
}

// source reads blobs of an OCI archive or layout.
type source interface {
	// read returns a small file (index.json, a manifest) whole.
	read(name string) ([]byte, error)
	// each calls fn with every blob of want that it holds.
	each(want map[string]bool, fn func(name string, r io.Reader) error) error
	String() string
}

// maxSmall bounds what is read whole: an index, a manifest, a config.
const maxSmall = 4 << 20

// ReadImage finds the image of container c (name) in its archive,
// relative to manifestDir, and checks the manifest's digest and what it
// names. Problems are *manifest.Error naming the container's keys.
func ReadImage(manifestDir, name string, c manifest.Container) (*Image, error) {
	key := manifest.KeyPath("containers", name)
	problem := func(sub, format string, args ...any) error {
		return &manifest.Error{Path: manifest.KeyPath(key, sub), Msg: fmt.Sprintf(format, args...)}
	}
	digest := manifest.ImageDigest(c.Image)
	if digest == "" {
		return nil, problem("image", "%q is not pinned by digest", c.Image)
	}
	p, err := manifest.ResolveLocal(manifestDir, c.Archive)
	if err != nil {
		return nil, problem("archive", "%v", err)
	}
	src, err := openSource(p)
	if err != nil {
		return nil, problem("archive", "%v", err)
	}
	img := &Image{Container: name, Ref: c.Image, Digest: digest, src: src}
	desc, err := findManifest(src, digest)
	if err != nil {
		return nil, problem("image", "%s: %v", src, err)
	}
	data, err := blob(src, desc)
	if err != nil {
		return nil, problem("archive", "%v", err)
	}
	var m imageManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, problem("archive", "%s: the manifest %s: %v", src, digest, err)
	}
	if m.Config.Digest == "" || !strings.HasPrefix(m.Config.Digest, "sha256:") {
		return nil, problem("archive", "%s: the manifest %s names no sha256 config", src, digest)
	}
	img.ID = strings.TrimPrefix(m.Config.Digest, "sha256:")
	img.blobs = append([]descriptor{desc, m.Config}, m.Layers...)
	return img, nil
}

// findManifest finds the descriptor of the image manifest digest in the
// layout's index.json, or in an index it lists.
func findManifest(src source, digest string) (descriptor, error) {
	data, err := src.read("index.json")
	if err != nil {
		return descriptor{}, fmt.Errorf("not an OCI layout or archive: %w", err)
	}
	var idx index
	if err := json.Unmarshal(data, &idx); err != nil {
		return descriptor{}, fmt.Errorf("index.json: %w", err)
	}
	var nested []descriptor
	for _, d := range idx.Manifests {
		switch {
		case d.Digest == digest && (d.MediaType == mediaTypeIndex || d.MediaType == dockerList):
			return descriptor{}, fmt.Errorf("%s is an index of several images: pin the manifest of the node's platform", digest)
		case d.Digest == digest:
			return d, nil
		case d.MediaType == mediaTypeIndex:
			nested = append(nested, d)
		}
	}
	for _, n := range nested {
		data, err := blob(src, n)
		if err != nil {
			return descriptor{}, err
		}
		var inner index
		if err := json.Unmarshal(data, &inner); err != nil {
			return descriptor{}, fmt.Errorf("index %s: %w", n.Digest, err)
		}
		for _, d := range inner.Manifests {
			if d.Digest == digest {
				return d, nil
			}
		}
	}
	return descriptor{}, fmt.Errorf("holds no image manifest %s (its index.json lists %d)", digest, len(idx.Manifests))
}

// blob reads a small blob whole and checks its digest and size.
func blob(src source, d descriptor) ([]byte, error) {
	if d.Size > maxSmall {
		return nil, fmt.Errorf("%s: blob %s is %d bytes, too large for a manifest", src, d.Digest, d.Size)
	}
	data, err := src.read(blobName(d.Digest))
	if err != nil {
		return nil, fmt.Errorf("%s: blob %s: %w", src, d.Digest, err)
	}
	if err := verify(d, int64(len(data)), sha256.Sum256(data)); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return data, nil
}

func blobName(digest string) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
}

func verify(d descriptor, size int64, sum [32]byte) error {
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != d.Digest {
		return fmt.Errorf("blob %s has the digest %s: the archive is damaged or was changed", d.Digest, got)
	}
	if d.Size != 0 && size != d.Size {
		return fmt.Errorf("blob %s is %d bytes, not %d", d.Digest, size, d.Size)
	}
	return nil
}

// Write puts the image into the root directory root as an OCI layout at
// img.Layout(), holding the pinned manifest, its config and its layers,
// each checked against its digest as it is copied.
func (img *Image) Write(root string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	dir := strings.TrimPrefix(img.Layout(), "/")
	if err := r.MkdirAll(path.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	idx, err := json.Marshal(index{SchemaVersion: 2, MediaType: mediaTypeIndex, Manifests: []descriptor{img.blobs[0]}})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": idx} {
		if err := r.WriteFile(path.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	want := map[string]bool{}
	byName := map[string]descriptor{}
	for _, d := range img.blobs {
		want[blobName(d.Digest)] = true
		byName[blobName(d.Digest)] = d
	}
	err = img.src.each(want, func(name string, rd io.Reader) error {
		f, err := r.OpenFile(path.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), rd)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		delete(want, name)
		return verify(byName[name], n, sum)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", img.src, err)
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for name := range want {
			missing = append(missing, path.Base(name))
		}
		slices.Sort(missing)
		return fmt.Errorf("%s: blobs missing: %s", img.src, strings.Join(missing, ", "))
	}
	return nil
}

func openSource(p string) (source, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return layoutDir(p), nil
	}
	return tarArchive(p), nil
}

// layoutDir is an OCI layout directory.
type layoutDir string

func (l layoutDir) String() string { return string(l) }

func (l layoutDir) read(name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(string(l), filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readSmall(f)
}

func (l layoutDir) each(want map[string]bool, fn func(string, io.Reader) error) error {
	for name := range want {
		f, err := os.Open(filepath.Join(string(l), filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = fn(name, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// tarArchive is an OCI archive: a layout in one tar file.
type tarArchive string

func (a tarArchive) String() string { return string(a) }

func (a tarArchive) read(name string) ([]byte, error) {
	var out []byte
	found := false
	err := a.walk(func(n string, r io.Reader) error {
		if n != name || found {
			return nil
		}
		found = true
		var err error
		out, err = readSmall(r)
		return err
	})
	if err == nil && !found {
		err = fs.ErrNotExist
	}
	return out, err
}

func (a tarArchive) each(want map[string]bool, fn func(string, io.Reader) error) error {
	done := map[string]bool{}
	return a.walk(func(n string, r io.Reader) error {
		if !want[n] || done[n] {
			return nil
		}
		done[n] = true
		return fn(n, r)
	})
}

// walk calls fn with each regular file of the archive, by its clean name.
func (a tarArchive) walk(fn func(name string, r io.Reader) error) error {
	f, err := os.Open(string(a))
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a tar archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := fn(path.Clean(strings.TrimPrefix(h.Name, "./")), tr); err != nil {
			return err
		}
	}
}

func readSmall(r io.Reader) ([]byte, error) {
	var b bytes.Buffer
	n, err := io.Copy(&b, io.LimitReader(r, maxSmall+1))
	if err != nil {
		return nil, err
	}
	if n > maxSmall {
		return nil, fmt.Errorf("larger than %d bytes", maxSmall)
	}
	return b.Bytes(), nil
}
