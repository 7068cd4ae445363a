package node

import (
	"fmt"

	"github.com/cairnlinux/cairn/internal/gendiff"
)

// DiffSide is one side of a comparison (cairn diff): a generation of the
// store, or a directory holding a root tree (Generation 0).
type DiffSide struct {
	Generation int    `json:"generation,omitempty"`
	Path       string `json:"path"`
}

// DiffReport is what changed from one side to the other.
type DiffReport struct {
	From DiffSide `json:"from"`
	To   DiffSide `json:"to"`
	*gendiff.Diff
}

// Diff compares the trees of from and to (gendiff.Compare).
func Diff(from, to DiffSide) (DiffReport, error) {
	d, err := gendiff.Compare(from.Path, to.Path)
	if err != nil {
		return DiffReport{}, err
	}
	return DiffReport{From: from, To: to, Diff: d}, nil
}

// Side is generation num as a side of a comparison.
func (n *Node) Side(num int) (DiffSide, error) {
	gen, err := n.Generation(num)
	if err != nil {
		return DiffSide{}, fmt.Errorf("diff: %w", err)
	}
	return DiffSide{Generation: num, Path: gen.Path}, nil
}

// RunningSide is what a comparison starts from by default: the
// generation the state records as booted, else the default.
func (n *Node) RunningSide() (DiffSide, error) {
	st, err := n.Store.State()
	if err != nil {
		return DiffSide{}, fmt.Errorf("diff: %w", err)
	}
	num := st.Booted
	if num == 0 {
		num = st.Default
	}
	if num == 0 {
		return DiffSide{}, fmt.Errorf("diff: no generation is booted or the default in %s: name two generations (cairn diff A B)", n.Store.Dir())
	}
	return n.Side(num)
}

// NewestSide is what a comparison goes to by default: the newest
// generation.
func (n *Node) NewestSide() (DiffSide, error) {
	gens, err := n.Store.Generations()
	if err != nil {
		return DiffSide{}, err
	}
	if len(gens) == 0 {
		return DiffSide{}, fmt.Errorf("diff: the store %s has no generations", n.Store.Dir())
	}
	last := gens[len(gens)-1]
	return DiffSide{Generation: last.Number, Path: last.Path}, nil
}
