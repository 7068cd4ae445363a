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
		bytes += p.Info.InstalledSize
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
			sizeDiff += c.New.Info.InstalledSize
			pkgDiff++
		}
		if c.Old != nil {
			sizeDiff -= c.Old.Info.InstalledSize
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
	fmt.Fprintf(s.Out.Stdout, "OK: %d MiB in %d packages\n", (bytes+sizeDiff)/(1024*1024), packages+pkgDiff)
	return nil
}
