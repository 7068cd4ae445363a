//go:build linux

package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/image/ocitest"
)

// smallTree is a tree any user can make: a few files, a symlink, a hard
// link and an xattr.
func smallTree(t testing.TB) *treeBuilder {
	b := newTree(t)
	b.file("etc/alpine-release", []byte("3.19.1\n"), 0o644)
	b.file("bin/busybox", bytes.Repeat([]byte("busybox "), 1000), 0o755)
	b.symlink("busybox", "bin/sh")
	b.link("bin/busybox", "bin/cat")
	b.xattr("etc/alpine-release", "user.origin", []byte("test"))
	b.dir("tmp", 0o1777)
	return b
}

func writeOCI(t testing.TB, o OCI, root, out string) Result {
	t.Helper()
	res, err := o.Write(context.Background(), Source{Root: root, Epoch: testEpoch, Arch: "x86_64"}, out)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readJSON(t testing.TB, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// listing maps every file under dir to its sha256 (directories to "dir").
func listing(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel] = "dir"
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOCILayout(t *testing.T) {
	b := smallTree(t)
	dir := filepath.Join(t.TempDir(), "image")
	res := writeOCI(t, OCI{}, b.root, dir)
	if err := ocitest.ValidateLayout(dir); err != nil {
		t.Fatalf("the layout does not validate:\n%v", err)
	}

	var index ociIndex
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1", len(index.Manifests))
	}
	md := index.Manifests[0]
	if md.Annotations[AnnotationRefName] != "latest" || md.Platform == nil || *md.Platform != (Platform{Architecture: "amd64", OS: "linux"}) {
		t.Errorf("index descriptor %+v: want ref.name latest, platform linux/amd64", md)
	}
	if md.Digest != res.Digest {
		t.Errorf("result digest %s, index %s", res.Digest, md.Digest)
	}
	var man ociManifest
	readJSON(t, blobPath(dir, md.Digest), &man)
	if len(man.Layers) != 1 || man.Layers[0].MediaType != MediaTypeLayerGzip {
		t.Fatalf("manifest layers %+v: want one gzip layer", man.Layers)
	}
	var cfg ociConfig
	readJSON(t, blobPath(dir, man.Config.Digest), &cfg)
	wantCreated := "2023-11-14T22:13:20Z"
	if cfg.Created != wantCreated || cfg.Architecture != "amd64" || cfg.OS != "linux" ||
		!reflect.DeepEqual(cfg.Config.Cmd, []string{"/bin/sh"}) || cfg.Config.Entrypoint != nil ||
		!reflect.DeepEqual(cfg.Config.Env, []string{DefaultPath}) ||
		len(cfg.History) != 1 || cfg.History[0].Created != wantCreated {
		t.Errorf("config %+v", cfg)
	}

	// The layer is the tar image: its tar stream is WriteTree's, and the
	// blob is byte for byte the gzip tar image.
	var tarStream bytes.Buffer
	if _, err := WriteTree(context.Background(), &tarStream, b.root, testEpoch); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tarStream.Bytes())
	if want := "sha256:" + hex.EncodeToString(sum[:]); cfg.RootFS.DiffIDs[0] != want {
		t.Errorf("diff_id %s, sha256 of the tree's tar stream %s", cfg.RootFS.DiffIDs[0], want)
	}
	image, _ := writeTarImage(t, b.root, Gzip)
	tarImage, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	sum = sha256.Sum256(tarImage)
	if want := "sha256:" + hex.EncodeToString(sum[:]); man.Layers[0].Digest != want {
		t.Errorf("layer %s differs from the gzip tar image %s", man.Layers[0].Digest, want)
	}

	// Reproducible, also with one core.
	again := filepath.Join(t.TempDir(), "image")
	old := runtime.GOMAXPROCS(1)
	writeOCI(t, OCI{}, b.root, again)
	runtime.GOMAXPROCS(old)
	if a, b := listing(t, dir), listing(t, again); !reflect.DeepEqual(a, b) {
		t.Errorf("two builds differ:\n%v\n%v", a, b)
	}
}

func TestOCIOptions(t *testing.T) {
	b := smallTree(t)
	dir := filepath.Join(t.TempDir(), "image")
	writeOCI(t, OCI{
		Compression: Zstd,
		Tag:         "cluster-node_1.2",
		Entrypoint:  []string{"/sbin/init"},
		Env:         []string{"PATH=/bin", "LANG=C.UTF-8"},
		WorkingDir:  "/srv",
	}, b.root, dir)
	if err := ocitest.ValidateLayout(dir); err != nil {
		t.Fatalf("the layout does not validate:\n%v", err)
	}
	var index ociIndex
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	var man ociManifest
	readJSON(t, blobPath(dir, index.Manifests[0].Digest), &man)
	var cfg ociConfig
	readJSON(t, blobPath(dir, man.Config.Digest), &cfg)
	if index.Manifests[0].Annotations[AnnotationRefName] != "cluster-node_1.2" || man.Layers[0].MediaType != MediaTypeLayerZstd ||
		!reflect.DeepEqual(cfg.Config, containerConfig{Env: []string{"PATH=/bin", "LANG=C.UTF-8"}, Entrypoint: []string{"/sbin/init"}, WorkingDir: "/srv"}) {
		t.Errorf("index %+v manifest %+v config %+v", index, man, cfg.Config)
	}
}

func TestOCIArchive(t *testing.T) {
	b := smallTree(t)
	dir := filepath.Join(t.TempDir(), "image")
	writeOCI(t, OCI{}, b.root, dir)
	archive := filepath.Join(t.TempDir(), "image.tar")
	res := writeOCI(t, OCI{}, b.root, archive)
	fi, err := os.Stat(archive)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != res.Size {
		t.Fatalf("archive %s: %v %v, result size %d", archive, fi, err, res.Size)
	}
	extracted := untarLayout(t, archive)
	if err := ocitest.ValidateLayout(extracted); err != nil {
		t.Fatalf("the archived layout does not validate:\n%v", err)
	}
	if a, b := listing(t, dir), listing(t, extracted); !reflect.DeepEqual(a, b) {
		t.Errorf("the archive holds another layout than the directory:\n%v\n%v", a, b)
	}
	again := filepath.Join(t.TempDir(), "image.tar")
	writeOCI(t, OCI{}, b.root, again)
	first, _ := os.ReadFile(archive)
	second, _ := os.ReadFile(again)
	if !bytes.Equal(first, second) {
		t.Error("two archives of the same tree differ")
	}
}

// untarLayout extracts an oci-archive with archive/tar, checking that
// its entries are what a layout may hold.
func untarLayout(t testing.TB, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dest := t.TempDir()
	tr := tar.NewReader(f)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Uid != 0 || hdr.Gid != 0 || !hdr.ModTime.Equal(testEpoch) {
			t.Errorf("%s: owner %d:%d time %v, want 0:0 and the epoch", hdr.Name, hdr.Uid, hdr.Gid, hdr.ModTime)
		}
		p := filepath.Join(dest, filepath.FromSlash(hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected type %c in an oci-archive", hdr.Name, hdr.Typeflag)
		}
	}
	if !sort.StringsAreSorted(names) || names[len(names)-1] != "oci-layout" {
		t.Errorf("archive order %v: want sorted, oci-layout last", names)
	}
	return dest
}

func TestOCIRefusals(t *testing.T) {
	b := smallTree(t)
	base := t.TempDir()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		o    OCI
		src  Source
		out  string
		want string
	}{
		{"no arch", OCI{}, Source{Root: b.root}, "a", "no architecture"},
		{"unknown arch", OCI{}, Source{Root: b.root, Arch: "sparc64"}, "b", `architecture "sparc64"`},
		{"bad tag", OCI{Tag: "has space"}, Source{Root: b.root, Arch: "x86_64"}, "c", `tag "has space"`},
		{"bad compression", OCI{Compression: "lz4"}, Source{Root: b.root, Arch: "x86_64"}, "d", `compression "lz4"`},
		{"no root", OCI{}, Source{Arch: "x86_64"}, "e", "no root directory"},
		{"exists", OCI{}, Source{Root: b.root, Arch: "x86_64"}, ".", "exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(base, tc.out)
			_, err := tc.o.Write(ctx, tc.src, out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error with %q", err, tc.want)
			}
		})
	}
	b.file("etc/.wh.shadow", nil, 0o644)
	_, err := OCI{}.Write(ctx, Source{Root: b.root, Arch: "x86_64"}, filepath.Join(base, "wh"))
	if err == nil || !strings.Contains(err.Error(), "etc/.wh.shadow") {
		t.Errorf("a whiteout name: %v", err)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 0 {
		t.Errorf("failed writes left %d entries in the output directory", len(entries))
	}
}

func TestOCIReproducibleOrdinaryTree(t *testing.T) {
	requireRoot(t)
	b := buildOrdinaryTree(t)
	first := filepath.Join(t.TempDir(), "image")
	writeOCI(t, OCI{}, b.root, first)
	if err := ocitest.ValidateLayout(first); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(t.TempDir(), "image")
	old := runtime.GOMAXPROCS(1)
	writeOCI(t, OCI{}, b.root, second)
	runtime.GOMAXPROCS(old)
	if a, b := listing(t, first), listing(t, second); !reflect.DeepEqual(a, b) {
		t.Errorf("two builds differ:\n%v\n%v", a, b)
	}
}

// rewriteBlob replaces a JSON blob after edit changes it, and the
// descriptors that point at it up to index.json, so that only the edit
// is wrong.
func rewriteConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	var index map[string]any
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	md := index["manifests"].([]any)[0].(map[string]any)
	var man map[string]any
	readJSON(t, blobPath(dir, md["digest"].(string)), &man)
	cd := man["config"].(map[string]any)
	var cfg map[string]any
	readJSON(t, blobPath(dir, cd["digest"].(string)), &cfg)
	edit(cfg)
	put := func(v any, d map[string]any) {
		data, _ := json.Marshal(v)
		sum := sha256.Sum256(data)
		d["digest"] = "sha256:" + hex.EncodeToString(sum[:])
		d["size"] = len(data)
		if err := os.WriteFile(blobPath(dir, d["digest"].(string)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put(cfg, cd)
	put(man, md)
	data, _ := json.Marshal(index)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestValidateLayoutFindsProblems(t *testing.T) {
	b := smallTree(t)
	good := filepath.Join(t.TempDir(), "image")
	writeOCI(t, OCI{}, b.root, good)
	var index ociIndex
	readJSON(t, filepath.Join(good, "index.json"), &index)
	var man ociManifest
	readJSON(t, blobPath(good, index.Manifests[0].Digest), &man)
	layer := man.Layers[0].Digest

	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   string
	}{
		{"layer byte flipped", func(t *testing.T, dir string) {
			p := blobPath(dir, layer)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0xff
			os.WriteFile(p, data, 0o644)
		}, "not its name's"},
		{"layer missing", func(t *testing.T, dir string) {
			os.Remove(blobPath(dir, layer))
		}, "no such file"},
		{"no architecture", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { delete(c, "architecture") })
		}, `required field "architecture" is missing`},
		{"wrong diff_id", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) {
				c["rootfs"].(map[string]any)["diff_ids"] = []any{"sha256:" + strings.Repeat("0", 64)}
			})
		}, "but the config's diff_ids[0]"},
		{"bad created", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["created"] = "yesterday" })
		}, "not an RFC 3339"},
		{"platform mismatch", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["architecture"] = "arm64" })
		}, "index says platform linux/amd64, the config linux/arm64"},
		{"schema version", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "index.json"))
			data = bytes.Replace(data, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":1`), 1)
			os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644)
		}, "schemaVersion 1: must be 2"},
		{"bad ref name", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "index.json"))
			data = bytes.Replace(data, []byte(`"latest"`), []byte(`"-latest"`), 1)
			os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644)
		}, "not a valid reference name"},
		{"no oci-layout", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "oci-layout"))
		}, "oci-layout"},
		{"bad digest", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "index.json"))
			data = bytes.Replace(data, []byte(`sha256:`), []byte(`sha256:X`), 1)
			os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644)
		}, "64 lowercase hex digits"},
		{"size lies", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "index.json"))
			var idx map[string]any
			json.Unmarshal(data, &idx)
			idx["manifests"].([]any)[0].(map[string]any)["size"] = 1
			data, _ = json.Marshal(idx)
			os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644)
		}, "the descriptor says 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "image")
			copyDir(t, good, dir)
			tc.break_(t, dir)
			err := ocitest.ValidateLayout(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v\nwant a problem with %q", err, tc.want)
			}
		})
	}
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}
