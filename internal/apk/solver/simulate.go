package solver

import "fmt"

// Simulation is a Committer that only prints what a commit would do, in
// apk --simulate's words.
type Simulation struct {
	Out Output
}

// InstalledStats returns the number of installed packages and their total
// installed size.
func (db *DB) InstalledStats() (packages int, bytes int64) {
	for _, p := range db.installed {
		packages++
		bytes += p.InstalledSize
	}
	return packages, bytes
}

// Commit prints the change lines and the summary line.
func (s Simulation) Commit(db *DB, cs *Changeset, world []Dep) error {
	total := cs.Counts()
	var sizeDiff int64
	pkgDiff := 0
	for _, c := range cs.Changes {
		if c.New != nil {
			sizeDiff += c.New.InstalledSize
			pkgDiff++
		}
		if c.Old != nil {
			sizeDiff -= c.Old.InstalledSize
			pkgDiff--
		}
	}
	done := 0
	for i := range cs.Changes {
		c := &cs.Changes[i]
		if line := db.ChangeLine(c, done, total); line != "" {
			fmt.Fprintln(s.Out.Stdout, line)
		}
		if c.New != c.Old || c.Reinstall || c.NewRepositoryTag != c.OldRepositoryTag {
			done++
		}
	}
	db.World = copyDeps(world)
	if db.PerformingSelfUpgrade {
		return nil
	}
	packages, bytes := db.InstalledStats()
	fmt.Fprintln(s.Out.Stdout, SummaryLine(0, bytes+sizeDiff, packages+pkgDiff))
	return nil
}

// SummaryLine is apk's last line after a commit: "OK: 12 MiB in 34
// packages", or "2 errors; ..." when packages ended up broken.
func SummaryLine(errors int, bytes int64, packages int) string {
	status := "OK:"
	switch {
	case errors == 1:
		status = "1 error;"
	case errors > 1:
		status = fmt.Sprintf("%d errors;", errors)
	}
	return fmt.Sprintf("%s %d MiB in %d packages", status, bytes/(1024*1024), packages)
}
