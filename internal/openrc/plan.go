package openrc

import (
	"errors"
	"maps"
	"slices"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// Where OpenRC keeps its files, relative to the root.
const (
	initDir     = "etc/init.d"
	confDir     = "etc/conf.d"
	runlevelDir = "etc/runlevels"
)

// plan is everything Install writes, worked out before it writes
// anything.
type plan struct {
	files []plannedFile
	// defined holds the services the plan writes an init script for.
	defined map[string]bool
	// runlevels maps each runlevel to its services, in the manifest's
	// order without repeats; listed is the manifest's own lists.
	runlevels map[string][]string
	listed    map[string][]string
}

// plannedFile is a file to write: dir and name relative to the root.
type plannedFile struct {
	dir, name string
	data      []byte
	mode      uint32
}

// makePlan validates services and renders the files of the defined ones.
// It reports every problem at once.
func makePlan(services manifest.Services) (*plan, error) {
	p := &plan{defined: map[string]bool{}, runlevels: map[string][]string{}, listed: services.Runlevels}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(services.Define)) {
		s := services.Define[name]
		script, err := InitScript(name, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.defined[name] = true
		p.files = append(p.files,
			plannedFile{dir: initDir, name: name, data: script, mode: 0o755},
			plannedFile{dir: confDir, name: name, data: ConfD(name, s), mode: 0o644})
	}
	for _, level := range slices.Sorted(maps.Keys(services.Runlevels)) {
		at := keyPath("services", level)
		if !ValidName(level) {
			errs = append(errs, &Error{Path: at, Msg: "not a valid runlevel name: use " + nameRule})
			continue
		}
		seen := map[string]bool{}
		list := []string{}
		for i, svc := range services.Runlevels[level] {
			if !ValidName(svc) {
				errs = append(errs, &Error{Path: indexPath(at, i), Msg: "not a valid service name: use " + nameRule})
				continue
			}
			if !seen[svc] {
				seen[svc] = true
				list = append(list, svc)
			}
		}
		p.runlevels[level] = list
	}
	// A declared runlevel is made even when no service is in it yet:
	// `openrc NAME` switches to it.
	for i, level := range services.Declared {
		if !ValidName(level) {
			errs = append(errs, &Error{Path: indexPath("services.runlevels", i), Msg: "not a valid runlevel name: use " + nameRule})
			continue
		}
		if _, ok := p.runlevels[level]; !ok {
			p.runlevels[level] = []string{}
		}
	}
	return p, errors.Join(errs...)
}

// needed lists, runlevel by runlevel, the services the plan links but
// does not define: their init scripts must already be in the root.
func (p *plan) needed() []MissingServiceError {
	var out []MissingServiceError
	for _, level := range slices.Sorted(maps.Keys(p.runlevels)) {
		for _, svc := range p.runlevels[level] {
			if !p.defined[svc] {
				out = append(out, MissingServiceError{Runlevel: level, Index: slices.Index(p.listed[level], svc), Service: svc})
			}
		}
	}
	return out
}
