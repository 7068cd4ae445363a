// Package ocitest checks an OCI image layout against the OCI image spec;
// the image tests use it to show what cairn writes is a valid image.
package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// The media types of the OCI image spec (v1.1), spelled here apart from
// package image's: the checker reads the spec, not the writer.
const (
	MediaTypeIndex     = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest  = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig    = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer     = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeLayerGzip = MediaTypeLayer + "+gzip"
	MediaTypeLayerZstd = MediaTypeLayer + "+zstd"

	// AnnotationRefName in index.json names an image of a layout.
	AnnotationRefName = "org.opencontainers.image.ref.name"

	ociLayoutVersion = "1.0.0"
)

// descriptor is an OCI content descriptor as the checker reads it.
type descriptor struct {
	MediaType   string
	Digest      string
	Size        int64
	Platform    *platform
	Annotations map[string]string
}

// platform is a descriptor's platform.
type platform struct{ Architecture, OS, Variant string }

// compression is a layer's compression, from its media type.
type compression string

const (
	none    compression = "none"
	gzipped compression = "gzip"
	zstded  compression = "zstd"
)

// ValidateLayout checks the OCI image layout in dir against the rules of
// the OCI image spec (v1.1): oci-layout and index.json; every descriptor
// (media type, digest and size syntax); every blob they reach, whose
// size and digest must match; image manifests and configs with their
// required fields; ref.name annotations; and every layer, which must
// decompress to a tar stream whose digest is the config's diff_id. It
// returns every problem found, joined, each naming its file.
func ValidateLayout(dir string) error {
	v := &validator{dir: dir, seen: map[string]bool{}}
	v.layoutFile()
	v.indexFile()
	return errors.Join(v.errs...)
}

type validator struct {
	dir  string
	errs []error
	seen map[string]bool // digests of manifests and indexes checked
}

func (v *validator) fail(where, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

// ociGrammar are the regular expressions of the OCI specification.
type ociGrammar struct {
	mediaType, digest *regexp.Regexp
	encoded           map[string]*regexp.Regexp
}

var (
	// ociRE holds the OCI grammars, compiled on first use (the media
	// type's bounded repetitions alone take milliseconds, which every start of
	// the binary would pay).
	ociRE = sync.OnceValue(func() ociGrammar {
		return ociGrammar{
			mediaType: regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`),
			digest:    regexp.MustCompile(`^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$`),
			encoded: map[string]*regexp.Regexp{
				"sha256": regexp.MustCompile(`^[a-f0-9]{64}$`),
				"sha512": regexp.MustCompile(`^[a-f0-9]{128}$`),
			},
		}
	})
	layerMediaTypes = map[string]bool{
		MediaTypeLayer: true, MediaTypeLayerGzip: true, MediaTypeLayerZstd: true,
		"application/vnd.oci.image.layer.nondistributable.v1.tar":      true,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": true,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": true,
	}
)

// maxJSONBlob bounds the manifests, indexes and configs read into memory.
const maxJSONBlob = 4 << 20

func (v *validator) layoutFile() {
	obj, ok := v.readObject("oci-layout", filepath.Join(v.dir, "oci-layout"))
	if !ok {
		return
	}
	var version string
	if v.field("oci-layout", obj, "imageLayoutVersion", true, &version) && version != ociLayoutVersion {
		v.fail("oci-layout", "imageLayoutVersion %q: want %q", version, ociLayoutVersion)
	}
}

func (v *validator) indexFile() {
	data, err := os.ReadFile(filepath.Join(v.dir, "index.json"))
	if err != nil {
		v.fail("index.json", "%v", err)
		return
	}
	v.index("index.json", data)
}

// index checks an image index (index.json or a nested one).
func (v *validator) index(where string, data []byte) {
	obj, ok := v.parseObject(where, data)
	if !ok {
		return
	}
	v.schemaVersion(where, obj)
	v.mediaType(where, obj, MediaTypeIndex)
	var manifests []json.RawMessage
	if !v.field(where, obj, "manifests", true, &manifests) {
		return
	}
	for i, raw := range manifests {
		at := fmt.Sprintf("%s: manifests[%d]", where, i)
		d, ok := v.descriptor(at, raw)
		if !ok {
			continue
		}
		if name, ok := d.Annotations[AnnotationRefName]; ok && !refNameRE().MatchString(name) {
			v.fail(at, "annotation %s %q is not a valid reference name", AnnotationRefName, name)
		}
		switch d.MediaType {
		case MediaTypeManifest:
			if data, ok := v.jsonBlob(at, d); ok {
				v.manifest(blobName(d), data, d.Platform)
			}
		case MediaTypeIndex:
			if data, ok := v.jsonBlob(at, d); ok {
				v.index(blobName(d), data)
			}
		default:
			v.blob(at, d, nil)
		}
	}
}

func (v *validator) manifest(where string, data []byte, plat *platform) {
	if v.seen[where] {
		return
	}
	v.seen[where] = true
	obj, ok := v.parseObject(where, data)
	if !ok {
		return
	}
	v.schemaVersion(where, obj)
	v.mediaType(where, obj, MediaTypeManifest)
	var cfgRaw json.RawMessage
	var layersRaw []json.RawMessage
	hasConfig := v.field(where, obj, "config", true, &cfgRaw)
	hasLayers := v.field(where, obj, "layers", true, &layersRaw)
	var cfg *configFacts
	if hasConfig {
		if d, ok := v.descriptor(where+": config", cfgRaw); ok {
			if d.MediaType == MediaTypeConfig {
				if data, ok := v.jsonBlob(where+": config", d); ok {
					cfg = v.config(blobName(d), data)
				}
			} else {
				v.blob(where+": config", d, nil)
			}
		}
	}
	if !hasLayers {
		return
	}
	var diffIDs []string
	for i, raw := range layersRaw {
		at := fmt.Sprintf("%s: layers[%d]", where, i)
		d, ok := v.descriptor(at, raw)
		if !ok {
			diffIDs = append(diffIDs, "")
			continue
		}
		if !layerMediaTypes[d.MediaType] {
			v.fail(at, "media type %q is not an OCI layer type", d.MediaType)
			diffIDs = append(diffIDs, "")
			continue
		}
		diffIDs = append(diffIDs, v.layer(at, d))
	}
	if cfg == nil {
		return
	}
	if len(cfg.diffIDs) != len(diffIDs) {
		v.fail(where, "%d layers but the config lists %d diff_ids", len(diffIDs), len(cfg.diffIDs))
		return
	}
	for i, id := range diffIDs {
		if id != "" && id != cfg.diffIDs[i] {
			v.fail(fmt.Sprintf("%s: layers[%d]", where, i), "uncompressed digest %s, but the config's diff_ids[%d] is %s", id, i, cfg.diffIDs[i])
		}
	}
	if plat != nil && (plat.Architecture != cfg.arch || plat.OS != cfg.os || plat.Variant != cfg.variant) {
		v.fail(where, "index says platform %s/%s%s, the config %s/%s%s", plat.OS, plat.Architecture, slashed(plat.Variant), cfg.os, cfg.arch, slashed(cfg.variant))
	}
}

func slashed(s string) string {
	if s == "" {
		return ""
	}
	return "/" + s
}

type configFacts struct {
	arch, os, variant string
	diffIDs           []string
}

func (v *validator) config(where string, data []byte) *configFacts {
	obj, ok := v.parseObject(where, data)
	if !ok {
		return nil
	}
	c := &configFacts{}
	if v.field(where, obj, "architecture", true, &c.arch) && c.arch == "" {
		v.fail(where, "architecture is empty")
	}
	if v.field(where, obj, "os", true, &c.os) && c.os == "" {
		v.fail(where, "os is empty")
	}
	v.field(where, obj, "variant", false, &c.variant)
	var created string
	if v.field(where, obj, "created", false, &created) {
		v.timestamp(where+": created", created)
	}
	var rootfs map[string]json.RawMessage
	if v.field(where, obj, "rootfs", true, &rootfs) {
		var typ string
		if v.field(where+": rootfs", rootfs, "type", true, &typ) && typ != "layers" {
			v.fail(where+": rootfs", "type %q: must be \"layers\"", typ)
		}
		if v.field(where+": rootfs", rootfs, "diff_ids", true, &c.diffIDs) {
			for i, id := range c.diffIDs {
				if _, _, ok := v.digest(fmt.Sprintf("%s: rootfs: diff_ids[%d]", where, i), id); !ok {
					c.diffIDs[i] = ""
				}
			}
		}
	}
	var runCfg struct {
		Env        []string `json:"Env"`
		Entrypoint []string `json:"Entrypoint"`
		Cmd        []string `json:"Cmd"`
		WorkingDir string   `json:"WorkingDir"`
	}
	if v.field(where, obj, "config", false, &runCfg) {
		for _, e := range runCfg.Env {
			if !strings.Contains(e, "=") {
				v.fail(where+": config: Env", "%q is not VARIABLE=VALUE", e)
			}
		}
	}
	var hist []struct {
		Created *string `json:"created"`
	}
	if v.field(where, obj, "history", false, &hist) {
		for i, h := range hist {
			if h.Created != nil {
				v.timestamp(fmt.Sprintf("%s: history[%d]: created", where, i), *h.Created)
			}
		}
	}
	return c
}

func (v *validator) timestamp(where, s string) {
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		v.fail(where, "%q is not an RFC 3339 date and time", s)
	}
}

// layer checks a layer blob and returns the digest of its tar stream.
func (v *validator) layer(where string, d descriptor) string {
	var diffID string
	v.blob(where, d, func(r io.Reader) error {
		c := none
		switch {
		case strings.HasSuffix(d.MediaType, "+gzip"):
			c = gzipped
		case strings.HasSuffix(d.MediaType, "+zstd"):
			c = zstded
		}
		tr, err := decompressor(r, c)
		if err != nil {
			return err
		}
		defer tr.Close()
		h := sha256.New()
		archive := tar.NewReader(io.TeeReader(tr, h))
		for {
			hdr, err := archive.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("tar: %w", err)
			}
			if clean := path.Clean(hdr.Name); path.IsAbs(hdr.Name) || clean == ".." || strings.HasPrefix(clean, "../") {
				return fmt.Errorf("tar: entry %q leaves the root", hdr.Name)
			}
		}
		// The end-of-archive blocks and any padding count too.
		if _, err := io.Copy(h, tr); err != nil {
			return fmt.Errorf("decompress: %w", err)
		}
		diffID = "sha256:" + hex.EncodeToString(h.Sum(nil))
		return nil
	})
	return diffID
}

// blobName is how messages name a blob.
func blobName(d descriptor) string {
	alg, enc, _ := strings.Cut(d.Digest, ":")
	return path.Join("blobs", alg, enc)
}

// jsonBlob checks a blob and returns its content.
func (v *validator) jsonBlob(where string, d descriptor) ([]byte, bool) {
	if d.Size > maxJSONBlob {
		v.fail(where, "%s is %d bytes, more than the %d a manifest, index or config may have here", blobName(d), d.Size, maxJSONBlob)
		return nil, false
	}
	var data []byte
	ok := v.blob(where, d, func(r io.Reader) error {
		var err error
		data, err = io.ReadAll(r)
		return err
	})
	return data, ok
}

// blob checks that the blob d describes exists with d's size and digest,
// passing its content through read when read is not nil.
func (v *validator) blob(where string, d descriptor, read func(io.Reader) error) bool {
	alg, enc, ok := v.digest(where+": digest", d.Digest)
	if !ok {
		return false
	}
	name := blobName(d)
	f, err := os.Open(filepath.Join(v.dir, "blobs", alg, enc))
	if err != nil {
		v.fail(where, "blob %s: %v", name, err)
		return false
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	if alg == "sha512" {
		h = sha512.New()
	}
	counted := &countingWriter{w: h}
	r := io.TeeReader(f, counted)
	good := true
	if read != nil {
		if err := read(r); err != nil {
			v.fail(name, "%v", err)
			good = false
		}
	}
	// The digest is checked even when the content made no sense.
	if _, err := io.Copy(io.Discard, r); err != nil {
		v.fail(name, "%v", err)
		return false
	}
	if counted.n != d.Size {
		v.fail(where, "blob %s is %d bytes, the descriptor says %d", name, counted.n, d.Size)
		good = false
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != enc {
		v.fail(where, "blob %s has digest %s:%s, not its name's", name, alg, got)
		good = false
	}
	return good
}

// digest checks a digest's syntax and that its algorithm is one the
// validator can verify.
func (v *validator) digest(where, s string) (alg, enc string, ok bool) {
	m := ociRE().digest.FindStringSubmatch(s)
	if m == nil {
		v.fail(where, "%q is not a digest (algorithm:encoded)", s)
		return "", "", false
	}
	re, known := ociRE().encoded[m[1]]
	if !known {
		v.fail(where, "digest algorithm %q: only sha256 and sha512 are registered", m[1])
		return "", "", false
	}
	if !re.MatchString(m[2]) {
		v.fail(where, "%q: a %s digest is %d lowercase hex digits", s, m[1], map[string]int{"sha256": 64, "sha512": 128}[m[1]])
		return "", "", false
	}
	return m[1], m[2], true
}

// descriptor checks a content descriptor's fields.
func (v *validator) descriptor(where string, raw json.RawMessage) (descriptor, bool) {
	var d descriptor
	obj, ok := v.parseObject(where, raw)
	if !ok {
		return d, false
	}
	good := v.field(where, obj, "mediaType", true, &d.MediaType)
	if good && !ociRE().mediaType.MatchString(d.MediaType) {
		v.fail(where, "media type %q is not type/subtype (RFC 6838)", d.MediaType)
		good = false
	}
	if v.field(where, obj, "digest", true, &d.Digest) {
		if _, _, ok := v.digest(where+": digest", d.Digest); !ok {
			good = false
		}
	} else {
		good = false
	}
	if v.field(where, obj, "size", true, &d.Size) {
		if d.Size < 0 {
			v.fail(where, "size %d is negative", d.Size)
			good = false
		}
	} else {
		good = false
	}
	v.field(where, obj, "annotations", false, &d.Annotations)
	var plat map[string]json.RawMessage
	if v.field(where, obj, "platform", false, &plat) {
		d.Platform = &platform{}
		v.field(where+": platform", plat, "architecture", true, &d.Platform.Architecture)
		v.field(where+": platform", plat, "os", true, &d.Platform.OS)
		v.field(where+": platform", plat, "variant", false, &d.Platform.Variant)
	}
	return d, good
}

func (v *validator) schemaVersion(where string, obj map[string]json.RawMessage) {
	var n int
	if v.field(where, obj, "schemaVersion", true, &n) && n != 2 {
		v.fail(where, "schemaVersion %d: must be 2", n)
	}
}

// mediaType checks an optional mediaType field against want.
func (v *validator) mediaType(where string, obj map[string]json.RawMessage, want string) {
	var mt string
	if v.field(where, obj, "mediaType", false, &mt) && mt != want {
		v.fail(where, "mediaType %q: must be %q", mt, want)
	}
}

// field decodes obj[key] into dst; a missing required key is a problem.
// It reports whether the key was there and decoded.
func (v *validator) field(where string, obj map[string]json.RawMessage, key string, required bool, dst any) bool {
	raw, ok := obj[key]
	if !ok {
		if required {
			v.fail(where, "required field %q is missing", key)
		}
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		v.fail(where, "field %q: %v", key, err)
		return false
	}
	return true
}

func (v *validator) readObject(where, file string) (map[string]json.RawMessage, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		v.fail(where, "%v", err)
		return nil, false
	}
	return v.parseObject(where, data)
}

func (v *validator) parseObject(where string, data []byte) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		v.fail(where, "not a JSON object: %v", err)
		return nil, false
	}
	if obj == nil {
		v.fail(where, "not a JSON object: null")
		return nil, false
	}
	return obj, true
}

// Decompress returns a reader of what r holds compressed with the named
// compression ("gzip", "zstd" or "none"), read with other code than the
// writer's.
func Decompress(r io.Reader, name string) (io.ReadCloser, error) {
	return decompressor(r, compression(name))
}

// decompressor returns a reader of what r holds compressed with c. It
// uses the standard library's gzip reader, not the writer's package, so
// a check does not share the code it checks.
func decompressor(r io.Reader, c compression) (io.ReadCloser, error) {
	switch c {
	case gzipped:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case zstded:
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	case none:
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("compression %q: want gzip, zstd or none", c)
}

// refNameRE is the spec's grammar of org.opencontainers.image.ref.name.
var refNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)
})

// countingWriter counts what passes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
