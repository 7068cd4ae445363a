package cli

import (
	"io"

	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// jsonChange is one change of a commit in --json output.
type jsonChange struct {
	Action     string `json:"action"` // as apk says it: Installing, Upgrading, Purging...
	Name       string `json:"name"`
	OldVersion string `json:"oldVersion,omitempty"`
	NewVersion string `json:"newVersion,omitempty"`
	Tag        string `json:"tag,omitempty"`
}

type jsonCommit struct {
	Simulated bool         `json:"simulated"`
	Changes   []jsonChange `json:"changes"`
	World     []string     `json:"world"`
}

// jsonCommitter runs a committer with its text output silenced and then
// prints the changes it committed as JSON.
type jsonCommitter struct {
	inner     solver.Committer
	out       io.Writer
	simulated bool
	// commits collects every commit of the command (a self-upgrade makes
	// two); they are printed by flush.
	commits []jsonCommit
}

func (j *jsonCommitter) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	if err := j.inner.Commit(db, cs, world); err != nil {
		return err
	}
	jc := jsonCommit{Simulated: j.simulated, Changes: []jsonChange{}, World: []string{}}
	for i := range cs.Changes {
		c := &cs.Changes[i]
		verb := db.ChangeVerb(c)
		if verb == "" {
			continue
		}
		ch := jsonChange{Action: verb, Tag: db.Tags[c.NewRepositoryTag].Tag}
		if c.New != nil {
			ch.Name, ch.NewVersion = c.New.Name.Name, c.New.Version
		}
		if c.Old != nil {
			ch.Name, ch.OldVersion = c.Old.Name.Name, c.Old.Version
		}
		jc.Changes = append(jc.Changes, ch)
	}
	for i := range world {
		jc.World = append(jc.World, db.WorldString(&world[i]))
	}
	j.commits = append(j.commits, jc)
	return nil
}

func (j *jsonCommitter) flush() error {
	if len(j.commits) == 1 {
		return writeJSON(j.out, j.commits[0])
	}
	return writeJSON(j.out, j.commits)
}
