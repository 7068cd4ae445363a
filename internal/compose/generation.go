package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// GenerationPath is where WriteGeneration records what a tree is.
const GenerationPath = "/usr/lib/cairn/generation.json"

// Generation is what a built tree is, recorded inside it. It holds only
// what the manifest and the lock decide, so two builds of the same
// manifest and lock record the same bytes; the store keeps what differs
// per build (the generation number, its parent) beside the tree.
type Generation struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// ManifestDigest and LockDigest identify the merged manifest and the
	// lock, as manifest.Digest and the lock file's digest give them.
	ManifestDigest string `json:"manifestDigest"`
	LockDigest     string `json:"lockDigest"`
	// Packages are the installed packages; WriteGeneration sorts them by
	// name.
	Packages []GenerationPackage `json:"packages"`
	// Kernel is the kernel package (linux-lts, linux-virt), "" for none.
	Kernel string `json:"kernel,omitempty"`
	// BuildTime is the lock's SOURCE_DATE_EPOCH; the mtime given to
	// WriteGeneration when zero. Recorded in UTC.
	BuildTime    time.Time `json:"buildTime"`
	CairnVersion string    `json:"cairnVersion"`
	// Manifest is the top manifest's file in ManifestDir, "" when the
	// build kept none.
	Manifest string `json:"manifest,omitempty"`
}

// GenerationPackage is an installed package.
type GenerationPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// WriteGeneration writes g to /usr/lib/cairn/generation.json in the root:
// keys sorted at every level, indented by two spaces, a final newline,
// mode 0644 root:root.
func WriteGeneration(root string, g Generation, mtime time.Time) error {
	data, err := renderGeneration(g, mtime)
	if err != nil {
		return err
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.writeFile(strings.TrimPrefix(GenerationPath, "/"), data, 0o644, 0, 0); err != nil {
		return fmt.Errorf("generation: %w", err)
	}
	return r.finish()
}

func renderGeneration(g Generation, mtime time.Time) ([]byte, error) {
	if g.BuildTime.IsZero() {
		g.BuildTime = mtime
	}
	g.BuildTime = g.BuildTime.UTC()
	pkgs := append([]GenerationPackage{}, g.Packages...)
	sort.SliceStable(pkgs, func(i, j int) bool {
		if pkgs[i].Name != pkgs[j].Name {
			return pkgs[i].Name < pkgs[j].Name
		}
		return pkgs[i].Version < pkgs[j].Version
	})
	g.Packages = pkgs
	raw, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("generation: %w", err)
	}
	// Through a generic value, whose maps encoding/json writes with sorted
	// keys, so the order never depends on the struct's field order.
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("generation: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("generation: %w", err)
	}
	return out.Bytes(), nil
}

// ManifestDir is where a generation keeps the manifest it was built from
// and the lock: a node can say what it runs, and cairn diff shows what
// changed in the manifest between two generations.
const ManifestDir = "/usr/lib/cairn/manifest"

// ManifestFile is a file of ManifestDir: its path below it
// (slash-separated) and its bytes.
type ManifestFile struct {
	Path string
	Data []byte
}

// WriteManifest writes files into ManifestDir in the root: the manifest's
// own files (the top one and those it includes, where they lie relative
// to the top one) and the lock. Only root reads them (directories 0700,
// files 0600): a manifest may hold password hashes.
func WriteManifest(root string, files []ManifestFile, mtime time.Time) error {
	if len(files) == 0 {
		return nil
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	dir := strings.TrimPrefix(ManifestDir, "/")
	if err := r.mkdirAll(dir, 0o700, 0, 0); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	for _, f := range files {
		if !fs.ValidPath(f.Path) || f.Path == "." {
			return fmt.Errorf("manifest: %q is not a path below %s", f.Path, ManifestDir)
		}
		rel := f.Path
		if parent, _ := splitRel(rel); parent != "" {
			if err := r.mkdirAll(dir+"/"+parent, 0o700, 0, 0); err != nil {
				return fmt.Errorf("manifest: %w", err)
			}
		}
		if err := r.writeFile(dir+"/"+rel, f.Data, 0o600, 0, 0); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
	}
	return r.finish()
}
