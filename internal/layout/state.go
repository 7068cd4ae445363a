package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// ErrNoRollback is returned by State.Rollback when no good generation is
// older than the next boot's.
var ErrNoRollback = errors.New("no earlier good generation to roll back to")

// State says which generation boots. It lives in @cairn/state.json, which
// is only ever replaced whole (written, synced, renamed); cairn-init reads
// it at boot and counts a trial's tries down. Zero means "none" in every
// generation field.
type State struct {
	// Default boots when no trial has tries left.
	Default int `json:"default,omitempty"`
	// Trial boots while it has tries left, until confirmed or replaced.
	Trial Trial `json:"trial,omitzero"`
	// LastGood is the generation most recently confirmed good.
	LastGood int `json:"lastGood,omitempty"`
	// Good lists, ascending, the generations that have been the good
	// default (confirmed after a boot, or made default permanently):
	// the generations Rollback walks back through.
	Good []int `json:"good,omitempty"`
	// Pinned generations are kept until unpinned.
	Pinned []int `json:"pinned,omitempty"`
	// Booted is the generation cairn-init started last, when known.
	Booted int `json:"booted,omitempty"`
	// LastSealed is the highest number ever sealed. Numbers are never
	// reused, even after the newest generation is deleted.
	LastSealed int `json:"lastSealed,omitempty"`
	// LastTrial is how the most recent trial ended, once it has.
	LastTrial TrialOutcome `json:"lastTrial,omitzero"`
}

// Outcomes of a trial.
const (
	TrialConfirmed = "confirmed"
	TrialFellBack  = "fell back"
)

// TrialOutcome records how a trial ended: confirmed, or fell back (it
// used its tries without being confirmed, and the default booted and was
// confirmed instead).
type TrialOutcome struct {
	Generation int    `json:"generation"`
	Outcome    string `json:"outcome"`
}

// Trial is a generation on probation: it boots TriesLeft more times unless
// confirmed, then the default boots again.
type Trial struct {
	Generation int `json:"generation"`
	TriesLeft  int `json:"triesLeft"`
}

// Normal returns st with its lists sorted and without duplicates, so
// equal states write equal bytes.
func (st State) Normal() State {
	st = st.Clone()
	st.Good = sortedSet(st.Good)
	st.Pinned = sortedSet(st.Pinned)
	return st
}

// Clone returns st with lists of its own.
func (st State) Clone() State {
	st.Good = slices.Clone(st.Good)
	st.Pinned = slices.Clone(st.Pinned)
	return st
}

func sortedSet(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// StatePath is where the state lives, relative to the store's top
// directory; errors about it name it so.
const StatePath = StoreDir + "/" + StateFile

// Unknown are the keys of a state.json that this cairn does not know
// (a newer cairn wrote them), as they were. Every writer of state.json
// keeps them (EncodeState): an older cairn, or cairn-init, rewriting the
// state does not lose what a newer one recorded.
type Unknown map[string]json.RawMessage

// DecodeState parses state.json: the state, and the keys State does not
// know.
func DecodeState(data []byte) (State, Unknown, error) {
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, nil, fmt.Errorf("%s: %w", StatePath, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return State{}, nil, fmt.Errorf("%s: %w", StatePath, err)
	}
	known := stateKeys()
	var unknown Unknown
	for k, v := range raw {
		if !slices.Contains(known, k) {
			if unknown == nil {
				unknown = Unknown{}
			}
			unknown[k] = v
		}
	}
	return st, unknown, nil
}

// EncodeState renders st as state.json: normalized, indented by two
// spaces, a final newline; with the unknown keys of the state it
// replaces kept beside State's (all keys then sorted).
func EncodeState(st State, unknown Unknown) ([]byte, error) {
	st = st.Normal()
	if len(unknown) == 0 {
		data, err := json.MarshalIndent(st, "", "  ")
		return append(data, '\n'), err
	}
	merged := map[string]json.RawMessage{}
	for k, v := range unknown {
		merged[k] = v
	}
	data, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var mine map[string]json.RawMessage
	if err := json.Unmarshal(data, &mine); err != nil {
		return nil, err
	}
	for k, v := range mine {
		merged[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(merged); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// stateKeys are the JSON keys of State's fields.
func stateKeys() []string {
	var keys []string
	t := reflect.TypeFor[State]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// ReadState reads @cairn/state.json of the store whose top directory is
// top, as cairn-init does: a state naming a negative generation or
// tries is an error (cairn-init leaves it to cairn fsck).
func ReadState(top string) (State, Unknown, error) {
	data, err := os.ReadFile(StorePath(top, StateFile))
	if err != nil {
		return State{}, nil, err
	}
	st, unknown, err := DecodeState(data)
	if err != nil {
		return State{}, nil, err
	}
	if st.Trial.TriesLeft < 0 || st.Default < 0 || st.Trial.Generation < 0 {
		return State{}, nil, fmt.Errorf("%s: negative generation or tries", StatePath)
	}
	return st, unknown, nil
}

// WriteState replaces @cairn/state.json of the store at top durably, as
// the store does: written to state.json.tmp, synced, renamed over
// state.json, the directory synced; the unknown keys of the state it
// replaces are kept. A crash leaves the old state or the new one.
// cairn-init writes the state with it; the store writes through its own
// atomic writer, which has crash points (store.Store.UpdateState).
func WriteState(top string, st State) error {
	_, unknown, _ := ReadState(top)
	data, err := EncodeState(st, unknown)
	if err != nil {
		return err
	}
	return writeAtomic(StorePath(top, StateFile), data)
}

func writeAtomic(path string, data []byte) error {
	return rootfs.WriteFileAt(path, data, rootfs.WriteOptions{
		Perm: 0o644, Sync: true, SyncDir: true, Temp: filepath.Base(path) + TmpSuffix,
	})
}
