package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
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
