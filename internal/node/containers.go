package node

import (
	"os"
	"os/exec"

	"github.com/cairnlinux/cairn/internal/container"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// pruneImages removes from podman's storage, on the node that runs this
// store, the containers' images that the services loaded and that no
// generation left uses (docs/containers.md). Off the running system, or
// without podman, there is nothing to do.
func (ss *Session) pruneImages() ([]store.Problem, error) {
	if ss.Running() == 0 {
		return nil, nil
	}
	system := ss.opts.system()
	podman := layout.InTree(system, container.Podman)
	if _, err := os.Stat(podman); err != nil {
		return nil, nil
	}
	gens, err := ss.Store.Generations()
	if err != nil {
		return nil, err
	}
	roots := make([]string, len(gens))
	for i, g := range gens {
		roots[i] = g.Path
	}
	removed, err := container.Prune(system, roots, func(args ...string) ([]byte, error) {
		return exec.Command(podman, args...).CombinedOutput()
	})
	var out []store.Problem
	for _, id := range removed {
		out = append(out, store.Problem{Path: "podman image " + id, Problem: "no generation's container uses it", Repair: "podman rmi", Repaired: true})
	}
	return out, err
}
