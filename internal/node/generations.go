package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// GenerationEntry is one generation in the list Generations makes.
type GenerationEntry struct {
	Number      int       `json:"number"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
	Parent      int       `json:"parent,omitempty"`
	Packages    int       `json:"packages"`
	Kernel      string    `json:"kernel,omitempty"`
	// Marks: "booted", "default", "trial", "last good", "pinned".
	Marks     []string `json:"marks"`
	TriesLeft int      `json:"triesLeft,omitempty"`
	NextBoot  bool     `json:"nextBoot,omitempty"`
	// Recovered: fsck rebuilt the metadata; packages and kernel are
	// unknown.
	Recovered bool         `json:"recovered,omitempty"`
	Size      *store.Usage `json:"size,omitempty"`
}

// GenerationList is the store's generations and its state.
type GenerationList struct {
	Store       string            `json:"store"`
	Backend     string            `json:"backend"`
	State       store.State       `json:"state"`
	NextBoot    int               `json:"nextBoot"`
	Generations []GenerationEntry `json:"generations"`
	// Sized says whether the entries have their Size.
	Sized bool `json:"-"`
}

// Generations lists the store's generations with what each is. The
// space each takes is measured when the store's btrfs has quotas on,
// which makes it cheap, or when sizes asks for it (it reads the extents
// of every file otherwise).
func (n *Node) Generations(sizes bool) (GenerationList, error) {
	s := n.Store
	gens, err := s.Generations()
	if err != nil {
		return GenerationList{}, err
	}
	st, err := s.State()
	if err != nil {
		return GenerationList{}, fmt.Errorf("%w (cairn fsck repairs it)", err)
	}
	sizes = sizes || quotasOn(s)
	list := GenerationList{Store: s.Dir(), Backend: s.Backend(), State: st, NextBoot: st.NextBoot(), Generations: []GenerationEntry{}, Sized: sizes}
	for _, gen := range gens {
		e := GenerationEntry{
			Number: gen.Number, Created: gen.Meta.Created, Description: gen.Meta.Description, Parent: gen.Meta.Parent,
			Packages: len(gen.Meta.Packages), Kernel: gen.Meta.Kernel, Recovered: gen.Meta.Recovered,
			Marks: Marks(st, gen.Number), NextBoot: st.NextBoot() == gen.Number,
		}
		if st.Trial.Generation == gen.Number {
			e.TriesLeft = st.Trial.TriesLeft
		}
		if sizes {
			u, err := s.Usage(gen.Number)
			if err != nil {
				return GenerationList{}, fmt.Errorf("size of generation %d: %w", gen.Number, err)
			}
			e.Size = &u
		}
		list.Generations = append(list.Generations, e)
	}
	return list, nil
}

// Marks says what generation n is to the state: "booted", "default",
// "trial", "last good", "pinned".
func Marks(st store.State, n int) []string {
	out := []string{}
	add := func(ok bool, what string) {
		if ok {
			out = append(out, what)
		}
	}
	add(st.Booted == n, "booted")
	add(st.Default == n, "default")
	add(st.Trial.Generation == n, "trial")
	add(st.LastGood == n, "last good")
	for _, p := range st.Pinned {
		add(p == n, "pinned")
	}
	return out
}

// quotasOn reports whether the store's usage comes cheaply from btrfs
// quota groups.
func quotasOn(s *store.Store) bool {
	if s.Backend() != store.BackendBtrfs {
		return false
	}
	q, err := btrfs.Quota(s.Dir())
	if err != nil && !errors.Is(err, btrfs.ErrNotSupported) {
		return false
	}
	return q.Enabled && !q.Inconsistent && !q.Rescanning
}

// KeptManifest is the manifest a generation was built from, as it was
// written: its files (the top one, those it includes, the lock) with
// their content.
type KeptManifest struct {
	Generation int    `json:"generation"`
	Manifest   string `json:"manifest"`
	// Files are below layout.ManifestDir, slash-separated.
	Files []KeptFile `json:"files"`
}

// KeptFile is a file of a KeptManifest.
type KeptFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Manifest returns the manifest generation num (0: the booted one, else
// the default) was built from.
func (n *Node) Manifest(num int) (KeptManifest, error) {
	var err error
	if num == 0 {
		if num, err = n.bootedOrDefault(); err != nil {
			return KeptManifest{}, err
		}
	} else if _, err := n.Generation(num); err != nil {
		return KeptManifest{}, fmt.Errorf("manifest: %w", err)
	}
	gen, err := n.Store.Get(num)
	if err != nil {
		return KeptManifest{}, err
	}
	rec, err := layout.ReadGeneration(gen.Path)
	if err != nil || rec.Manifest == "" {
		return KeptManifest{}, fmt.Errorf("generation %d keeps no manifest (it was built by a cairn that kept none)", num)
	}
	dir := layout.InTree(gen.Path, layout.ManifestDir)
	kept := KeptManifest{Generation: num, Manifest: rec.Manifest, Files: []KeptFile{}}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		kept.Files = append(kept.Files, KeptFile{Path: filepath.ToSlash(rel), Content: string(data)})
		return nil
	})
	if err != nil {
		return KeptManifest{}, fmt.Errorf("generation %d's manifest: %w", num, err)
	}
	return kept, nil
}

// bootedOrDefault is the generation the state records as booted, else
// its default.
func (n *Node) bootedOrDefault() (int, error) {
	st, err := n.Store.State()
	if err != nil {
		return 0, err
	}
	num := st.Booted
	if num == 0 {
		num = st.Default
	}
	if num == 0 {
		return 0, errors.New("no generation is booted or the default: name one (cairn manifest N)")
	}
	return num, nil
}
