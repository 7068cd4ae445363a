package store

// Crash points: the named instants between the steps of a change, where a
// test hook can stop cairn as a crash would. After a stop at any of them,
// the sealed generations and the default are intact and Fsck restores a
// clean store.
const (
	// PointSealMeta: meta/N.json is written; generation N does not exist.
	PointSealMeta = "seal-meta"
	// PointSealPublished: generation N exists, complete, read-only and
	// durable; on plain stores its top directory is not yet immutable.
	PointSealPublished = "seal-published"
	// PointSealDone: generation N is complete; state.json does not yet
	// record N as the last number sealed.
	PointSealDone = "seal-done"
	// PointStateTemp: state.json.tmp is written and synced, not yet
	// renamed over state.json.
	PointStateTemp = "state-tmp"
	// PointDeleteState: state.json no longer lists N as good; its tree
	// and metadata still exist.
	PointDeleteState = "delete-state"
	// PointDeleteTree: generation N's tree is gone; meta/N.json remains.
	PointDeleteTree = "delete-tree"
)

// CrashPoints lists every crash point, in the order a build, a state
// change and a deletion pass them.
func CrashPoints() []string {
	return []string{PointSealMeta, PointSealPublished, PointSealDone, PointStateTemp, PointDeleteState, PointDeleteTree}
}

// SetCrashHook installs a function called at every crash point. When it
// returns an error, the change stops right there, undoing nothing, as if
// the process had died, and returns that error. Tests use it in-process;
// the CLI turns an environment variable naming a point into a hook that
// kills the process.
func (s *Store) SetCrashHook(hook func(point string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

func (s *Store) crashPoint(point string) error {
	if point == "" {
		return nil
	}
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook == nil {
		return nil
	}
	return hook(point)
}
