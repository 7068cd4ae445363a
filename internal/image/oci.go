package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Media types and annotations of the OCI image spec (v1.1).
const (
	MediaTypeIndex     = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest  = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig    = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer     = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeLayerGzip = MediaTypeLayer + "+gzip"
	MediaTypeLayerZstd = MediaTypeLayer + "+zstd"

	// AnnotationRefName in index.json names an image of a layout: the
	// TAG of skopeo's and podman's oci:DIR:TAG.
	AnnotationRefName = "org.opencontainers.image.ref.name"

	ociLayoutVersion = "1.0.0"
	// DefaultPath is the PATH of the image's environment when the caller
	// gives none, Alpine's (and Docker's) usual one.
	DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// OCI is the `oci` format: an OCI image layout (oci-layout, index.json,
// blobs/sha256/...) holding one image of one layer, the tree's tar
// stream. Given an output path ending in ".tar" it writes the layout as
// one tar archive instead (skopeo's and podman's oci-archive:).
type OCI struct {
	// Compression of the layer: gzip when empty (the media type every
	// runtime takes); zstd needs podman 4.1 or later; none stores the tar.
	Compression Compression
	// Tag is the image's name in index.json, "latest" when empty.
	Tag string
	// Entrypoint and Cmd are what the container runs; Cmd is ["/bin/sh"]
	// when both are nil.
	Entrypoint, Cmd []string
	// Env is the environment, DefaultPath when nil.
	Env []string
	// WorkingDir is the directory the container starts in, / when empty.
	WorkingDir string
}

func (OCI) Name() string { return "oci" }

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *Platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociLayout struct {
	ImageLayoutVersion string `json:"imageLayoutVersion"`
}

type ociIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type ociManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type ociConfig struct {
	Created      string          `json:"created,omitempty"`
	Architecture string          `json:"architecture"`
	Variant      string          `json:"variant,omitempty"`
	OS           string          `json:"os"`
	Config       containerConfig `json:"config"`
	RootFS       rootFS          `json:"rootfs"`
	History      []history       `json:"history,omitempty"`
}

type containerConfig struct {
	Env        []string `json:"Env,omitempty"`
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type history struct {
	Created   string `json:"created,omitempty"`
	CreatedBy string `json:"created_by,omitempty"`
}

// refNameRE is the grammar of org.opencontainers.image.ref.name. It is
// compiled on first use: compiling it takes milliseconds, which every
// start of the binary would pay (and every package script's sandbox is
// one).
var refNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)
})

// Write writes the image layout to the directory out, or, when out ends
// in ".tar", an archive of it to the file out.
func (o OCI) Write(ctx context.Context, src Source, out string) (Result, error) {
	var res Result
	if err := src.check(); err != nil {
		return res, err
	}
	plat, err := PlatformOf(src.Arch)
	if err != nil {
		return res, fmt.Errorf("oci image: %w", err)
	}
	tag := o.Tag
	if tag == "" {
		tag = "latest"
	}
	if !refNameRE().MatchString(tag) {
		return res, fmt.Errorf("oci image: tag %q: letters and digits, separated by one of -._:@+ or --, in components separated by /", tag)
	}
	switch o.Compression {
	case "", Gzip, Zstd, None:
	default:
		return res, fmt.Errorf("oci image: compression %q: want gzip, zstd or none", o.Compression)
	}
	if err := checkNew(out); err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return res, fmt.Errorf("oci image %s: %w", out, err)
	}
	defer os.RemoveAll(dir) // nothing left there once published
	if err := os.Chmod(dir, outputDirMode); err != nil {
		return res, fmt.Errorf("oci image %s: %w", out, err)
	}
	lay, err := o.writeLayout(ctx, src, plat, tag, dir)
	if err != nil {
		return res, fmt.Errorf("oci image %s: %w", out, err)
	}
	res = Result{
		Outputs: []string{out},
		Entries: lay.stats.Entries,
		TarSize: lay.stats.TarSize,
		Skipped: lay.stats.Skipped,
		Digest:  lay.manifest.Digest,
	}
	if !strings.HasSuffix(out, ".tar") {
		if err := publish(dir, out); err != nil {
			return res, err
		}
		res.Size = lay.size
		return res, syncDir(filepath.Dir(out))
	}
	f, err := createOutput(out)
	if err != nil {
		return res, err
	}
	defer f.abort()
	if err := writeLayoutArchive(f, dir, lay, src.Epoch); err != nil {
		return res, fmt.Errorf("oci archive %s: %w", out, err)
	}
	if res.Size, err = f.commit(); err != nil {
		return res, err
	}
	return res, nil
}

// ociDir is an OCI image layout being written in dir.
type ociDir struct {
	dir      string
	blobs    []string // hex digests, in the order written
	size     int64    // bytes of all files
	manifest descriptor
	stats    TreeStats
}

func (o OCI) writeLayout(ctx context.Context, src Source, plat Platform, tag, dir string) (*ociDir, error) {
	lay := &ociDir{dir: dir}
	for _, d := range []string{"blobs", "blobs/sha256"} {
		if err := os.Mkdir(filepath.Join(dir, d), outputDirMode); err != nil {
			return nil, err
		}
		if err := os.Chmod(filepath.Join(dir, d), outputDirMode); err != nil { // whatever the umask
			return nil, err
		}
	}
	comp := o.Compression
	if comp == "" {
		comp = Gzip
	}
	layer, diffID, err := lay.addLayer(ctx, src, comp)
	if err != nil {
		return nil, err
	}
	created := epochOf(src.Epoch).UTC().Format(time.RFC3339)
	cfg := ociConfig{
		Created:      created,
		Architecture: plat.Architecture,
		Variant:      plat.Variant,
		OS:           plat.OS,
		Config: containerConfig{
			Env:        o.Env,
			Entrypoint: o.Entrypoint,
			Cmd:        o.Cmd,
			WorkingDir: o.WorkingDir,
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{diffID}},
		History: []history{{Created: created, CreatedBy: "cairn image --format oci"}},
	}
	if cfg.Config.Env == nil {
		cfg.Config.Env = []string{DefaultPath}
	}
	if o.Entrypoint == nil && o.Cmd == nil {
		cfg.Config.Cmd = []string{"/bin/sh"}
	}
	config, err := lay.addJSON(MediaTypeConfig, cfg)
	if err != nil {
		return nil, err
	}
	man, err := lay.addJSON(MediaTypeManifest, ociManifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		Config:        config,
		Layers:        []descriptor{layer},
	})
	if err != nil {
		return nil, err
	}
	man.Platform = &plat
	man.Annotations = map[string]string{AnnotationRefName: tag}
	lay.manifest = man
	if err := lay.writeJSON("index.json", ociIndex{
		SchemaVersion: 2,
		MediaType:     MediaTypeIndex,
		Manifests:     []descriptor{man},
	}); err != nil {
		return nil, err
	}
	if err := lay.writeJSON("oci-layout", ociLayout{ImageLayoutVersion: ociLayoutVersion}); err != nil {
		return nil, err
	}
	return lay, syncDir(filepath.Join(dir, "blobs", "sha256"))
}

func epochOf(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return t.Truncate(time.Second)
}

// addLayer writes the tree's tar stream, compressed, as a blob, and
// returns its descriptor and its diff_id (the digest of the tar).
func (l *ociDir) addLayer(ctx context.Context, src Source, comp Compression) (descriptor, string, error) {
	var desc descriptor
	f, err := os.CreateTemp(filepath.Join(l.dir, "blobs", "sha256"), ".layer-*")
	if err != nil {
		return desc, "", err
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	blob := newDigester(bw)
	zw, err := compressor(blob, comp, runtime.GOMAXPROCS(0))
	if err != nil {
		return desc, "", err
	}
	tarred := newDigester(zw)
	stats, err := writeTree(ctx, tarred, src.Root, src.Epoch, noWhiteout)
	if cerr := zw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("layer: %s: %w", comp, cerr)
	}
	if err != nil {
		return desc, "", err
	}
	if err := bw.Flush(); err != nil {
		return desc, "", fmt.Errorf("layer: %w", err)
	}
	if err := f.Sync(); err != nil {
		return desc, "", fmt.Errorf("layer: %w", err)
	}
	if err := f.Close(); err != nil {
		return desc, "", fmt.Errorf("layer: %w", err)
	}
	name := f.Name()
	f = nil
	hexSum := blob.hex()
	if err := os.Rename(name, filepath.Join(l.dir, "blobs", "sha256", hexSum)); err != nil {
		os.Remove(name)
		return desc, "", fmt.Errorf("layer: %w", err)
	}
	if err := os.Chmod(filepath.Join(l.dir, "blobs", "sha256", hexSum), outputFileMode); err != nil {
		return desc, "", fmt.Errorf("layer: %w", err)
	}
	l.blobs = append(l.blobs, hexSum)
	l.size += blob.n
	l.stats = stats
	media := map[Compression]string{Gzip: MediaTypeLayerGzip, Zstd: MediaTypeLayerZstd, None: MediaTypeLayer}[comp]
	return descriptor{MediaType: media, Digest: "sha256:" + hexSum, Size: blob.n}, "sha256:" + tarred.hex(), nil
}

// noWhiteout refuses names an OCI runtime would take for a whiteout (a
// deletion from a lower layer) instead of a file.
func noWhiteout(e *Entry) error {
	if strings.HasPrefix(path.Base(e.Path), ".wh.") {
		return fmt.Errorf("layer: %s: names starting with .wh. mean deletions in OCI layers; rename the file", e.Path)
	}
	return nil
}

// addJSON writes v as a JSON blob and returns its descriptor.
func (l *ociDir) addJSON(mediaType string, v any) (descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return descriptor{}, err
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	if err := writeFileSync(filepath.Join(l.dir, "blobs", "sha256", hexSum), data); err != nil {
		return descriptor{}, err
	}
	l.blobs = append(l.blobs, hexSum)
	l.size += int64(len(data))
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hexSum, Size: int64(len(data))}, nil
}

// writeJSON writes v as the layout's file name.
func (l *ociDir) writeJSON(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.size += int64(len(data))
	return writeFileSync(filepath.Join(l.dir, name), data)
}

func writeFileSync(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, outputFileMode)
	if err != nil {
		return err
	}
	err = f.Chmod(outputFileMode) // whatever the umask
	if err == nil {
		_, err = f.Write(data)
	}
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// digester passes writes on to w and hashes and counts them.
type digester struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newDigester(w io.Writer) *digester { return &digester{w: w, h: sha256.New()} }

func (d *digester) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

func (d *digester) hex() string { return hex.EncodeToString(d.h.Sum(nil)) }
