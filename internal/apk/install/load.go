package install

import (
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// loadInstalled turns the solver's installed packages into the commit's
// database, with their scripts and triggers from lib/apk/db.
func (t *txn) loadInstalled(db *solver.DB) ([]*pkgState, map[*solver.Pkg]*pkgState, error) {
	scripts := map[string]map[string][]byte{}
	if data, err := t.root.ReadFile(dbDir+"/"+scriptsFile, maxReadFile); err == nil {
		if scripts, err = parseScriptsTar(data); err != nil {
			return nil, nil, err
		}
	} else if !isNotExist(err) {
		return nil, nil, err
	}
	triggers := map[string][]string{}
	if data, err := t.root.ReadFile(dbDir+"/"+triggersFile, maxReadFile); err == nil {
		triggers = parseTriggers(string(data))
	} else if !isNotExist(err) {
		return nil, nil, err
	}
	var list []*pkgState
	byPkg := map[*solver.Pkg]*pkgState{}
	for _, p := range db.InstalledPackages() {
		rec := p.Installed.Record
		if rec == nil {
			rec = &apk.InstalledPackage{
				Package:          *p.Info(),
				ReplacesPriority: p.Installed.ReplacesPriority,
				RepositoryTag:    tagName(db, p.Installed.RepositoryTag),
				BrokenFiles:      p.Installed.BrokenFiles,
				BrokenScript:     p.Installed.BrokenScript,
				BrokenXattr:      p.Installed.BrokenXattr,
			}
		}
		csum := rec.Checksum.String()
		ps := &pkgState{
			info:             &rec.Package,
			rec:              rec,
			replaces:         rec.Replaces,
			replacesPriority: rec.ReplacesPriority,
			scripts:          scripts[csum],
			triggers:         triggers[csum],
			repoTag:          rec.RepositoryTag,
			brokenFiles:      rec.BrokenFiles,
			brokenScript:     rec.BrokenScript,
			brokenXattr:      rec.BrokenXattr,
			sha256x160:       rec.SHA256x160,
		}
		list = append(list, ps)
		byPkg[p] = ps
	}
	return list, byPkg, nil
}

// tagName returns a repository tag's name without '@'; "" for the default.
func tagName(db *solver.DB, tag int) string {
	if tag <= 0 || tag >= len(db.Tags) {
		return ""
	}
	return strings.TrimPrefix(db.Tags[tag].Tag, "@")
}

// loadProtected reads the protected paths: apk's defaults followed by the
// root's etc/apk/protected_paths.d/*.list, in name order.
func (t *txn) loadProtected() (*protector, error) {
	rules := parseProtectedPaths(defaultProtectedPaths)
	d, err := t.root.OpenDir(protectedListDir)
	if isNotExist(err) {
		return newProtector(rules), nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Names()
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.HasSuffix(n, ".list") {
			continue
		}
		data, err := t.root.ReadFile(protectedListDir+"/"+n, maxReadFile)
		if err != nil {
			continue // apk skips what it cannot read
		}
		rules = append(rules, parseProtectedPaths(string(data))...)
	}
	return newProtector(rules), nil
}
