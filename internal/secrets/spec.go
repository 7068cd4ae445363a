package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Paths of a generation and of a running node, as layout has them.
const (
	// SpecPath is where a generation records its secrets (Spec).
	SpecPath = layout.SecretsFile
	// CiphertextDir holds a generation's encrypted secrets, NAME.age.
	CiphertextDir = layout.SecretsDir
	// StatusPath is where the node records the last activation (Report):
	// in memory, as the secrets are.
	StatusPath = layout.SecretsStatus
	// ServiceName is the OpenRC service that activates the secrets at
	// boot; the services that need a secret need it.
	ServiceName = "cairn-secrets"
)

// Spec is what a generation says about its secrets, at SpecPath. It
// holds no secret: names, where each goes, and the encrypted files.
type Spec struct {
	Secrets []Entry `json:"secrets"`
}

// Entry is one secret of a generation.
type Entry struct {
	Name string `json:"name"`
	// File is the encrypted file in the generation, absolute.
	File string `json:"file"`
	// Path is where the node puts the decrypted file.
	Path string `json:"path"`
	// Owner is user:group as the manifest wrote it; UID and GID are what
	// the build resolved it to in the generation's accounts.
	Owner string `json:"owner"`
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	// Mode is the decrypted file's permission bits, in octal.
	Mode     string   `json:"mode"`
	Services []string `json:"services,omitempty"`
}

// LoadSpec reads the spec of the generation at root. A generation
// without one has no secrets.
func LoadSpec(root string) (Spec, error) {
	var s Spec
	data, err := os.ReadFile(filepath.Join(root, SpecPath))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: %w", SpecPath, err)
	}
	return s, nil
}

// Marshal is the spec's file content.
func (s Spec) Marshal() ([]byte, error) {
	if s.Secrets == nil {
		s.Secrets = []Entry{}
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
