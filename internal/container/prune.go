package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Runner runs podman with args and returns its combined output.
type Runner func(args ...string) ([]byte, error)

// Used returns the ids of the images the generations rooted at roots use
// (their RecordPath).
func Used(roots []string) (map[string]bool, error) {
	used := map[string]bool{}
	for _, root := range roots {
		data, err := os.ReadFile(filepath.Join(root, RecordPath))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var rec Record
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(root, RecordPath), err)
		}
		for _, img := range rec.Images {
			used[img.ID] = true
		}
	}
	return used, nil
}

// Prune removes from podman's storage the images that the services of
// this node loaded (LoadedRecord below root) and that none of the
// generations rooted at roots uses any more, and keeps the record of the
// rest. Images someone loaded by hand are not cairn's and stay. It
// returns the ids removed.
func Prune(root string, roots []string, podman Runner) ([]string, error) {
	record := filepath.Join(root, LoadedRecord)
	data, err := os.ReadFile(record)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	used, err := Used(roots)
	if err != nil {
		return nil, err
	}
	var keep, removed []string
	var errs []error
	for _, id := range strings.Fields(string(data)) {
		switch {
		case slices.Contains(keep, id) || slices.Contains(removed, id):
		case used[id]:
			keep = append(keep, id)
		default:
			if out, err := podman("rmi", "--ignore", id); err != nil {
				errs = append(errs, fmt.Errorf("podman rmi %s: %v: %s", id, err, strings.TrimSpace(string(out))))
				keep = append(keep, id)
				continue
			}
			removed = append(removed, id)
		}
	}
	if len(removed) > 0 {
		text := ""
		if len(keep) > 0 {
			text = strings.Join(keep, "\n") + "\n"
		}
		tmp := record + ".new"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			return removed, err
		}
		if err := os.Rename(tmp, record); err != nil {
			return removed, err
		}
	}
	return removed, errors.Join(errs...)
}
