package cairninit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/store"
)

// The store's layout, as docs/store.md gives it, relative to the btrfs
// top level (or the directory holding @cairn).
const (
	storeDir       = "@cairn"
	stateFile      = "@cairn/state.json"
	generationsDir = "@cairn/generations"
	metaDir        = "@cairn/meta"
	persistDir     = "@cairn/persist"
)

// stateJSON is state.json as read: the State, and every key as it was,
// so that keys this cairn-init does not know (written by a newer cairn)
// survive its rewrite.
type stateJSON struct {
	State store.State
	raw   map[string]json.RawMessage
}

// ReadState reads @cairn/state.json of the store whose top directory is
// top.
func ReadState(top string) (store.State, error) {
	s, err := readStateJSON(top)
	return s.State, err
}

func readStateJSON(top string) (stateJSON, error) {
	data, err := os.ReadFile(filepath.Join(top, stateFile))
	if err != nil {
		return stateJSON{}, err
	}
	var s stateJSON
	if err := json.Unmarshal(data, &s.State); err != nil {
		return stateJSON{}, fmt.Errorf("%s: %w", stateFile, err)
	}
	if err := json.Unmarshal(data, &s.raw); err != nil {
		return stateJSON{}, fmt.Errorf("%s: %w", stateFile, err)
	}
	if s.State.Trial.TriesLeft < 0 || s.State.Default < 0 || s.State.Trial.Generation < 0 {
		return stateJSON{}, fmt.Errorf("%s: negative generation or tries", stateFile)
	}
	return s, nil
}

// stateKeys are the JSON keys of store.State's fields.
func stateKeys() []string {
	var keys []string
	t := reflect.TypeOf(store.State{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// encodeState renders st as the store writes it; keys of old that State
// does not know are kept.
func encodeState(st store.State, old map[string]json.RawMessage) ([]byte, error) {
	st = normal(st)
	known := stateKeys()
	var extra bool
	for k := range old {
		if !slices.Contains(known, k) {
			extra = true
		}
	}
	if !extra {
		data, err := json.MarshalIndent(st, "", "  ")
		return append(data, '\n'), err
	}
	merged := map[string]json.RawMessage{}
	for k, v := range old {
		if !slices.Contains(known, k) {
			merged[k] = v
		}
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

// WriteState replaces @cairn/state.json durably, as the store does:
// written to state.json.tmp, synced, renamed over state.json, the
// directory synced. A crash leaves the old state or the new one.
func WriteState(top string, st store.State) error {
	old, _ := readStateJSON(top)
	data, err := encodeState(st, old.raw)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(top, stateFile), data)
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Generations lists the generations of the store at top: the directories
// of @cairn/generations named by a decimal number (no sign, no leading
// zero), ascending.
func Generations(top string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Join(top, generationsDir))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n <= 0 || strconv.Itoa(n) != e.Name() || !e.IsDir() {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// IsStore reports whether top holds a cairn store.
func IsStore(top string) error {
	fi, err := os.Stat(filepath.Join(top, generationsDir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no %s: not a cairn store", generationsDir)
		}
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", generationsDir)
	}
	return nil
}
