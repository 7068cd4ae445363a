package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Health is the file at HealthFile: the checks a booted generation must
// pass before cairn confirm --boot makes it good.
type Health struct {
	Checks []HealthCheck `json:"checks"`
}

// HealthCheck is one check, complete: name and timeout filled in.
type HealthCheck struct {
	Name    string `json:"name"`
	Service string `json:"service,omitempty"`
	Command string `json:"command,omitempty"`
	// TimeoutSeconds is how long the check is retried until it passes.
	TimeoutSeconds int `json:"timeoutSeconds"`
}

// EncodeHealth renders h as HealthFile holds it.
func EncodeHealth(h Health) ([]byte, error) {
	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// ReadHealth reads the checks the generation rooted at root records; none
// when it records none. A key it does not know is an error: a check this
// cairn cannot run must not pass unnoticed.
func ReadHealth(root string) (Health, error) {
	var h Health
	data, err := os.ReadFile(InTree(root, HealthFile))
	if errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, fmt.Errorf("%s: %w", HealthFile, err)
	}
	return h, nil
}
