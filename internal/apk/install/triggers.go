package install

import (
	"context"
	"path"
	"sort"
)

// triggerDirs returns the directories a package's trigger fires for
// (apk_db_fire_triggers): every known directory, or only the modified ones
// for a package this commit did not install, whose rooted name ("/usr/bin")
// matches one of its globs. apk hands them over in hash-table order; they
// are sorted here.
func triggerDirs(globs []string, all bool, known, modified map[string]bool) []string {
	var out []string
	for dir := range known {
		if !all && !modified[dir] {
			continue
		}
		name := rootedName(dir)
		for _, g := range globs {
			if len(g) == 0 || g[0] != '/' {
				continue
			}
			if ok, _ := path.Match(g, name); ok {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// runTriggers runs the trigger scripts after all changes, for the packages
// of the changeset in its order (run_triggers in commit.c).
func (t *txn) runTriggers(ctx context.Context, steps []*step, pl *planner) {
	for _, st := range steps {
		ps := st.new
		if st.kind == stepKeep {
			ps = st.old
		}
		if ps == nil || len(ps.triggers) == 0 {
			continue
		}
		if _, ok := ps.scripts["trigger"]; !ok {
			continue
		}
		dirs := triggerDirs(ps.triggers, ps.isNew, pl.known, pl.modified)
		if len(dirs) == 0 {
			continue
		}
		t.runScript(ctx, ps, "trigger", dirs)
	}
}
