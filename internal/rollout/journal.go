package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Journal is a rollout's record on the operator's machine: every
// rollout with each node's progress, and the generations rejected. It is
// written whole (temporary file, sync, rename) after every step, so a
// rollout interrupted at any point resumes from what it had done.
type Journal struct {
	path string
	mu   sync.Mutex
	data journalData
}

type journalData struct {
	Rejected []Rejection `json:"rejected"`
	Rollouts []*Record   `json:"rollouts"`
}

// Rejection is a generation that failed a trial: no rollout offers it
// again.
type Rejection struct {
	TreeDigest  string    `json:"treeDigest"`
	Generation  int       `json:"generation"`
	Description string    `json:"description,omitempty"`
	Node        string    `json:"node"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// Rollout states.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusHalted  = "halted"
)

// Record is one rollout.
type Record struct {
	Generation  int           `json:"generation"`
	TreeDigest  string        `json:"treeDigest"`
	Description string        `json:"description,omitempty"`
	Status      string        `json:"status"`
	Reason      string        `json:"reason,omitempty"`
	Started     time.Time     `json:"started"`
	Ended       time.Time     `json:"ended,omitzero"`
	Nodes       []*NodeRecord `json:"nodes"`
}

// A node's phases, in order. Done and Failed end it.
const (
	PhasePending   = "pending"
	PhaseDelivered = "delivered"
	PhaseSlot      = "slot taken"
	PhaseRebooting = "rebooting"
	PhaseConfirmed = "confirmed"
	PhaseDone      = "done"
	PhaseFailed    = "failed"
)

// NodeRecord is one node's progress in a rollout.
type NodeRecord struct {
	Name string `json:"name"`
	// Phase is the last step done; Generation the node's number for the
	// generation, once delivered.
	Phase       string    `json:"phase"`
	Generation  int       `json:"generation,omitempty"`
	Method      string    `json:"method,omitempty"`
	BytesOnWire int64     `json:"bytesOnWire,omitempty"`
	Outcome     string    `json:"outcome,omitempty"`
	Error       string    `json:"error,omitempty"`
	Updated     time.Time `json:"updated"`
}

// OpenJournal reads the journal at path; a missing file is an empty
// journal, and path "" one kept in memory only (a single node's trial).
func OpenJournal(path string) (*Journal, error) {
	j := &Journal{path: path}
	if path == "" {
		return j, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &j.data); err != nil {
		return nil, fmt.Errorf("%s: not a rollout journal: %w (move it away to start afresh)", path, err)
	}
	return j, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Rejected returns the rejection of the tree digest, if any.
func (j *Journal) Rejected(digest string) (Rejection, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range j.data.Rejected {
		if r.TreeDigest == digest {
			return r, true
		}
	}
	return Rejection{}, false
}

// RejectedAll returns every rejection.
func (j *Journal) RejectedAll() []Rejection {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Rejection(nil), j.data.Rejected...)
}

// Last returns the most recent rollout, nil when there is none.
func (j *Journal) Last() *Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.data.Rollouts) == 0 {
		return nil
	}
	return j.data.Rollouts[len(j.data.Rollouts)-1]
}

// update changes the journal under its lock and writes it.
func (j *Journal) update(change func(d *journalData)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	change(&j.data)
	if j.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(j.data, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(j.path, append(data, '\n'))
}

// snapshot returns a copy of a record, for reports.
func (j *Journal) snapshot(r *Record) Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := *r
	c.Nodes = nil
	for _, n := range r.Nodes {
		nc := *n
		c.Nodes = append(c.Nodes, &nc)
	}
	return c
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
