package container

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testLayout writes a small OCI layout into dir: one image whose layer
// is layer, and returns the manifest's digest and the config's.
func testLayout(t *testing.T, dir string, layer []byte) (manifestDigest, configDigest string) {
	t.Helper()
	put := func(data []byte) descriptor {
		sum := sha256.Sum256(data)
		d := descriptor{Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
		p := filepath.Join(dir, blobName(d.Digest))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := put([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	cfg.MediaType = "application/vnd.oci.image.config.v1+json"
	l := put(layer)
	l.MediaType = "application/vnd.oci.image.layer.v1.tar"
	m, _ := json.Marshal(imageManifest{MediaType: mediaTypeManifest, Config: cfg, Layers: []descriptor{l}})
	md := put(append([]byte(`{"schemaVersion":2,`), m[1:]...))
	md.MediaType = mediaTypeManifest
	idx, _ := json.Marshal(index{SchemaVersion: 2, MediaType: mediaTypeIndex, Manifests: []descriptor{md}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return md.Digest, cfg.Digest
}

// tarDir writes dir as a tar archive at out, as oci-archive: names it.
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "./" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = os.WriteFile(out, buf.Bytes(), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadImage reads an image from a layout and from an archive and
// writes it into a root, where it is the same layout holding only it.
func TestReadImage(t *testing.T) {
	dir := t.TempDir()
	layout := filepath.Join(dir, "web")
	digest, config := testLayout(t, layout, bytes.Repeat([]byte("layer"), 1000))
	tarDir(t, layout, filepath.Join(dir, "web.tar"))
	for _, archive := range []string{"web", "web.tar"} {
		t.Run(archive, func(t *testing.T) {
			c := manifest.Container{Image: "localhost/web@" + digest, Archive: archive}
			img, err := ReadImage(dir, "web", c)
			if err != nil {
				t.Fatal(err)
			}
			if img.ID != strings.TrimPrefix(config, "sha256:") || img.Digest != digest {
				t.Errorf("image %+v", img)
			}
			root := t.TempDir()
			if err := img.Write(root); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(root, img.Layout())
			var blobs []string
			entries, _ := os.ReadDir(filepath.Join(out, "blobs", "sha256"))
			for _, e := range entries {
				blobs = append(blobs, e.Name())
			}
			if len(blobs) != 3 {
				t.Errorf("blobs written: %v", blobs)
			}
			// What was written reads back as the same image.
			again, err := ReadImage(root, "web", manifest.Container{Image: c.Image, Archive: strings.TrimPrefix(img.Layout(), "/")})
			if err != nil || again.ID != img.ID {
				t.Errorf("the written layout: %+v, %v", again, err)
			}
		})
	}
}

// TestReadImageRefuses: a wrong pin, a damaged blob, a missing one.
func TestReadImageRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, layout, digest string) string // returns the pinned digest
		want  string
	}{
		{"another digest", func(t *testing.T, layout, digest string) string {
			return "sha256:" + strings.Repeat("ab", 32)
		}, "containers.web.image: " + "%s: holds no image manifest sha256:abab"},
		{"damaged layer", func(t *testing.T, layout, digest string) string {
			var m imageManifest
			data, _ := os.ReadFile(filepath.Join(layout, blobName(digest)))
			json.Unmarshal(data, &m)
			os.WriteFile(filepath.Join(layout, blobName(m.Layers[0].Digest)), []byte("not the layer"), 0o644)
			return digest
		}, "the archive is damaged or was changed"},
		{"missing layer", func(t *testing.T, layout, digest string) string {
			var m imageManifest
			data, _ := os.ReadFile(filepath.Join(layout, blobName(digest)))
			json.Unmarshal(data, &m)
			os.Remove(filepath.Join(layout, blobName(m.Layers[0].Digest)))
			return digest
		}, "blobs missing: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			layout := filepath.Join(dir, "web")
			digest, _ := testLayout(t, layout, []byte("layer"))
			pinned := tc.spoil(t, layout, digest)
			c := manifest.Container{Image: "localhost/web@" + pinned, Archive: "web"}
			img, err := ReadImage(dir, "web", c)
			if err == nil {
				err = img.Write(t.TempDir())
			}
			want := strings.ReplaceAll(tc.want, "%s", layout)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v, want %q", err, want)
			}
		})
	}
}

func testImage() *Image {
	return &Image{Container: "web", Ref: "localhost/web@sha256:" + strings.Repeat("1", 64), Digest: "sha256:" + strings.Repeat("1", 64), ID: strings.Repeat("c", 64)}
}

// TestScriptGolden renders the OpenRC service of a container.
func TestScriptGolden(t *testing.T) {
	c := manifest.Container{
		Image:       testImage().Ref,
		Archive:     "web.tar",
		Command:     []string{"/bin/sh", "-c", `echo "$GREETING" > /tmp/index.html && exec httpd -f -p 8080`},
		User:        "65534:65534",
		Environment: map[string]string{"GREETING": "hello world", "A": "1"},
		Ports:       []string{"8080:8080", "127.0.0.1:9090:9090/udp"},
		Volumes:     []string{"/srv/web:/www:ro"},
		Network:     "homelab",
		Healthcheck: manifest.ContainerHealth{Command: "wget -q -O /dev/null http://127.0.0.1:8080/", Interval: "5s", StartPeriod: "30s"},
		Need:        []string{"db"},
		Cgroup:      map[string]string{"memory.max": "64M"},
	}
	sc := Script("web", c, testImage())
	script, err := sc.InitScript()
	if err != nil {
		t.Fatal(err)
	}
	got := append(append(script, "# ---- /etc/conf.d/web\n"...), sc.ConfD()...)
	path := filepath.Join("testdata", "web.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./internal/container -update after checking):\n%s", path, got)
	}
	if h := HealthCheck("web", c); h.Command != Podman+" healthcheck run web" || h.Timeout != "30s" {
		t.Errorf("health check %+v", h)
	}
}

// TestExpand adds the service, its runlevel, its check and the record.
func TestExpand(t *testing.T) {
	sys := &manifest.System{Containers: map[string]manifest.Container{"web": {Image: testImage().Ref, Archive: "web.tar", Runlevel: "default"}}}
	if err := Expand(sys, map[string]*Image{"web": testImage()}); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range sys.Files.Inline {
		paths = append(paths, f.Path+" "+f.Mode)
	}
	if want := []string{"/etc/init.d/web 0755", "/etc/conf.d/web 0644", RecordPath + " 0644"}; !slices.Equal(paths, want) {
		t.Errorf("files %v, want %v", paths, want)
	}
	if !slices.Equal(sys.Services.Runlevels["default"], []string{"web"}) || len(sys.Health) != 1 || sys.Health[0].Service != "web" {
		t.Errorf("runlevels %v, health %+v", sys.Services.Runlevels, sys.Health)
	}
}

// TestPrune removes the images cairn loaded that no generation uses.
func TestPrune(t *testing.T) {
	root := t.TempDir()
	gen := t.TempDir()
	used, _ := json.Marshal(Record{Images: []*Image{{ID: "aaa"}}})
	for _, f := range []struct{ path, data string }{
		{filepath.Join(gen, RecordPath), string(used)},
		{filepath.Join(root, LoadedRecord), "aaa\nbbb\nccc\nbbb\n"},
	} {
		os.MkdirAll(filepath.Dir(f.path), 0o755)
		os.WriteFile(f.path, []byte(f.data), 0o644)
	}
	var calls []string
	podman := func(args ...string) ([]byte, error) {
		calls = append(calls, strings.Join(args, " "))
		if args[2] == "ccc" {
			return []byte("image is in use by a container"), errors.New("exit status 2")
		}
		return nil, nil
	}
	removed, err := Prune(root, []string{gen}, podman)
	if !slices.Equal(removed, []string{"bbb"}) || err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("removed %v, %v", removed, err)
	}
	if want := []string{"rmi --ignore bbb", "rmi --ignore ccc"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v", calls)
	}
	if data, _ := os.ReadFile(filepath.Join(root, LoadedRecord)); string(data) != "aaa\nccc\n" {
		t.Errorf("record now %q", data)
	}
}
