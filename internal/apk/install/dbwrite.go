package install

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// dbFiles is the rendered database of a root.
type dbFiles struct {
	world, installed, scripts, triggers []byte
}

// renderDatabase renders the database files for the packages installed
// after the commit (in installation order) and the world.
func renderDatabase(final []*pkgState, pl *planner, world []string, scriptsTime int64) dbFiles {
	recs := make([]*apk.InstalledPackage, len(final))
	var scripts []scriptsEntry
	var triggers []triggersEntry
	for i, ps := range final {
		recs[i] = ps.record(pl)
		if len(ps.scripts) > 0 {
			scripts = append(scripts, scriptsEntry{Pkg: &recs[i].Package, Scripts: ps.scripts})
		}
		if len(ps.triggers) > 0 {
			triggers = append(triggers, triggersEntry{Checksum: recs[i].Checksum, Globs: ps.triggers})
		}
	}
	apk.SortInstalled(recs)
	return dbFiles{
		world:     formatWorld(world),
		installed: apk.FormatInstalledDB(recs),
		scripts:   formatScriptsTar(scripts, scriptsTime),
		triggers:  formatTriggers(triggers),
	}
}

// worldLines renders the world as etc/apk/world lists it, sorted by name
// as apk's solver sorts it.
func worldLines(db *solver.DB, world []solver.Dep) []string {
	deps := append([]solver.Dep(nil), world...)
	sort.SliceStable(deps, func(i, j int) bool { return apk.CompareNames(deps[i].Name.Name, deps[j].Name.Name) < 0 })
	lines := make([]string, len(deps))
	for i := range deps {
		lines[i] = db.WorldString(&deps[i])
	}
	return lines
}

// writeDatabase writes the database files atomically, in apk's order
// (apk_db_write_config), then the configuration the installer was given.
// When the commit is durable, the installed files are flushed to disk
// first and the database files after.
func (t *txn) writeDatabase(files dbFiles) error {
	if t.durable {
		if err := t.root.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if _, err := t.root.MkdirAll(etcApkDir, 0o755, nil); err != nil {
		return err
	}
	etc, err := t.root.OpenDir(etcApkDir)
	if err != nil {
		return err
	}
	defer etc.Close()
	if err := writeAtomic(etc, worldFile, files.world, 0o644, t.durable); err != nil {
		return err
	}
	db, err := t.root.OpenDir(dbDir)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, f := range []struct {
		name string
		data []byte
	}{{installedFile, files.installed}, {scriptsFile, files.scripts}, {triggersFile, files.triggers}} {
		if err := writeAtomic(db, f.name, f.data, 0o644, t.durable); err != nil {
			return err
		}
	}
	if t.in.Arch != "" {
		if err := writeAtomic(etc, archFile, formatLines([]string{t.in.Arch}), 0o644, t.durable); err != nil {
			return err
		}
	}
	if t.in.Repositories != nil {
		if err := writeAtomic(etc, reposFile, formatLines(t.in.Repositories), 0o644, t.durable); err != nil {
			return err
		}
	}
	if t.in.KeysDir != "" {
		if err := t.copyKeys(); err != nil {
			return err
		}
	}
	if !t.durable {
		return nil
	}
	if err := etc.Sync(); err != nil {
		return err
	}
	return db.Sync()
}

// copyKeys copies the regular files of KeysDir into etc/apk/keys, leaving
// identical ones untouched.
func (t *txn) copyKeys() error {
	entries, err := os.ReadDir(t.in.KeysDir)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if _, err := t.root.MkdirAll(keysDir, 0o755, nil); err != nil {
		return err
	}
	d, err := t.root.OpenDir(keysDir)
	if err != nil {
		return err
	}
	defer d.Close()
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(t.in.KeysDir, e.Name()))
		if err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if old, err := t.root.ReadFile(keysDir+"/"+e.Name(), maxReadFile); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := writeAtomic(d, e.Name(), data, 0o644, t.durable); err != nil {
			return err
		}
	}
	if !t.durable {
		return nil
	}
	return d.Sync()
}
