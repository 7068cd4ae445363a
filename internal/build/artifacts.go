package build

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// maxArtifact bounds an artifact download.
const maxArtifact = 2 << 30

// fetchArtifact returns the verified content of an artifact's download,
// from the cache when it is there.
func fetchArtifact(ctx context.Context, a manifest.Artifact, manifestDir, cacheDir string, client *http.Client) ([]byte, error) {
	want := strings.ToLower(a.SHA256)
	cached := filepath.Join(cacheDir, "artifacts", want)
	if data, err := os.ReadFile(cached); err == nil && sha256Hex(data) == want {
		return data, nil
	}
	var data []byte
	var err error
	switch {
	case strings.HasPrefix(a.URL, "http://") || strings.HasPrefix(a.URL, "https://"):
		data, err = download(ctx, client, a.URL)
	default:
		var p string
		if p, err = manifest.ResolveLocal(manifestDir, strings.TrimPrefix(a.URL, "file://")); err == nil {
			data, err = os.ReadFile(p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", a.URL, err)
	}
	if got := sha256Hex(data); got != want {
		return nil, &ChecksumError{URL: a.URL, Got: got, Want: want}
	}
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err == nil {
		rootfs.WriteFileAt(cached, data, rootfs.WriteOptions{Perm: 0o644})
	}
	return data, nil
}

func download(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxArtifact+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxArtifact {
		return nil, fmt.Errorf("larger than %d bytes", maxArtifact)
	}
	return data, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// extractMember takes one file out of a .zip, .tar, .tar.gz or .tgz
// download; an empty member means the download itself.
func extractMember(a manifest.Artifact, data []byte) ([]byte, error) {
	if a.Extract == "" {
		return data, nil
	}
	want := strings.TrimPrefix(path.Clean("/"+a.Extract), "/")
	lower := strings.ToLower(strings.SplitN(a.URL, "?", 2)[0])
	switch {
	case strings.HasSuffix(lower, ".zip"):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: not a zip archive: %w", a.URL, err)
		}
		for _, f := range zr.File {
			if strings.TrimPrefix(path.Clean("/"+f.Name), "/") != want || f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", a.URL, f.Name, err)
			}
			defer rc.Close()
			return io.ReadAll(io.LimitReader(rc, maxArtifact))
		}
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"), strings.HasSuffix(lower, ".tar"):
		var r io.Reader = bytes.NewReader(data)
		if !strings.HasSuffix(lower, ".tar") {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, fmt.Errorf("%s: not gzip data: %w", a.URL, err)
			}
			r = zr
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: damaged archive: %w", a.URL, err)
			}
			if h.Typeflag == tar.TypeReg && strings.TrimPrefix(path.Clean("/"+h.Name), "/") == want {
				return io.ReadAll(io.LimitReader(tr, maxArtifact))
			}
		}
	default:
		return nil, fmt.Errorf("%s: extract needs a .zip, .tar, .tar.gz or .tgz download", a.URL)
	}
	return nil, fmt.Errorf("%s holds no file %q to extract", a.URL, a.Extract)
}

// artifactPackage wraps an artifact's file as an apk package, so that the
// installed system's package database knows who owns it.
func artifactPackage(a manifest.Artifact, content []byte, arch string, buildTime int64, signer apkfile.Signer) ([]byte, *apk.Package, error) {
	mode := fs.FileMode(0o755)
	if a.Mode != "" {
		m, err := strconv.ParseUint(a.Mode, 8, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("mode %q: %w", a.Mode, err)
		}
		mode = fs.FileMode(m)
	}
	uname, gname := "root", "root"
	if a.Owner != "" {
		u, g, ok := strings.Cut(a.Owner, ":")
		if !ok {
			g = u
		}
		uname, gname = u, g
	}
	target := strings.TrimPrefix(path.Clean(a.Path), "/")
	var files []apkfile.FileSpec
	dirs := strings.Split(path.Dir(target), "/")
	for i := range dirs {
		if dirs[0] == "." {
			break
		}
		files = append(files, apkfile.FileSpec{Path: strings.Join(dirs[:i+1], "/"), Mode: fs.ModeDir | 0o755, Uname: "root", Gname: "root"})
	}
	files = append(files, apkfile.FileSpec{Path: target, Mode: mode, Data: content, Uname: uname, Gname: gname})
	var deps []apk.Dependency
	for _, d := range a.Depends {
		dep, err := apk.ParseDependency(d)
		if err != nil {
			return nil, nil, err
		}
		deps = append(deps, dep)
	}
	spec := &apkfile.PackageSpec{
		Info: apk.Package{
			Name:        a.Name,
			Version:     a.Version,
			Arch:        arch,
			Description: "artifact " + a.URL,
			URL:         a.URL,
			License:     "custom",
			Origin:      a.Name,
			BuildTime:   buildTime,
			Depends:     deps,
		},
		Packager: "cairn",
		Files:    files,
	}
	var buf bytes.Buffer
	info, err := apkfile.WritePackage(&buf, spec, signer)
	if err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), info, nil
}

// artifactRepo makes a local signed repository of the artifacts' packages
// under dir (dir/<arch>/...), signed with key and trusted through keysDir.
// pkgs maps each package's name to its file (in the cache), which is
// linked into the repository, or copied where a link cannot be made.
func artifactRepo(dir, arch string, pkgs map[string]string, infos []*apk.Package, key *rsa.PrivateKey, keyName string) error {
	archDir := filepath.Join(dir, arch)
	if err := os.MkdirAll(archDir, 0o755); err != nil {
		return err
	}
	for _, info := range infos {
		if err := linkOrCopy(pkgs[info.Name], filepath.Join(archDir, info.FileName())); err != nil {
			return err
		}
	}
	arc, err := apkfile.BuildIndexArchive(infos, "cairn artifacts")
	if err != nil {
		return err
	}
	arc, err = apkfile.SignIndexArchive(arc, apkfile.Signer{Key: key, Name: keyName})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(archDir, "APKINDEX.tar.gz"), arc, 0o644)
}

func linkOrCopy(from, to string) error {
	if os.Link(from, to) == nil {
		return nil
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ChecksumError is an artifact whose SHA-256 is not the manifest's.
type ChecksumError struct {
	URL       string
	Got, Want string
	// Key is the manifest key of the checksum, once known.
	Key string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s, the manifest says %s: the download is not the file the manifest names", e.URL, e.Got, e.Want)
}

// ManifestError is e as a problem of the manifest's key, for the caller
// to place (manifest.File.Locate).
func (e *ChecksumError) ManifestError() *manifest.Error {
	if e.Key == "" {
		return nil
	}
	return &manifest.Error{Path: e.Key, Msg: e.Error()}
}
