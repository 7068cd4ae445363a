package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// Generation is what a built tree is, recorded inside it at
// GenerationFile. It holds only what the manifest and the lock decide, so
// two builds of the same manifest and lock record the same bytes; the
// store keeps what differs per build (the generation number, its parent)
// beside the tree.
type Generation struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// ManifestDigest and LockDigest identify the merged manifest and the
	// lock, as manifest.Digest and the lock file's digest give them.
	ManifestDigest string `json:"manifestDigest"`
	LockDigest     string `json:"lockDigest"`
	// Packages are the installed packages; RenderGeneration sorts them by
	// name.
	Packages []GenerationPackage `json:"packages"`
	// Kernel is the kernel package (linux-lts, linux-virt), "" for none.
	Kernel string `json:"kernel,omitempty"`
	// BuildTime is the lock's SOURCE_DATE_EPOCH; the mtime given to
	// RenderGeneration when zero. Recorded in UTC.
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

// RenderGeneration renders g as GenerationFile holds it: keys sorted at
// every level, indented by two spaces, a final newline; packages sorted
// by name, the build time (mtime when g has none) in UTC.
func RenderGeneration(g Generation, mtime time.Time) ([]byte, error) {
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

// ReadGeneration reads the record of the tree rooted at root. A tree
// without one gives an error wrapping fs.ErrNotExist; a record that does
// not parse, an error naming GenerationFile.
func ReadGeneration(root string) (Generation, error) {
	var g Generation
	data, err := os.ReadFile(InTree(root, GenerationFile))
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(data, &g); err != nil {
		return g, fmt.Errorf("%s: %w", GenerationFile, err)
	}
	return g, nil
}
