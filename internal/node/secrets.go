package node

import (
	"context"

	"github.com/cairnlinux/cairn/internal/secrets"
)

// ActivateRequest says which generation's secrets to put in place.
type ActivateRequest struct {
	// Root is the running system ("/").
	Root string
	// Generation, when not 0, activates that generation of the store
	// (Store) instead of the booted system's.
	Generation int
	Store      StoreOptions
	// Boot is the activation at boot (the cairn-secrets service): a node
	// without a key gets one made, nothing is restarted.
	Boot bool
}

// ActivateSecrets decrypts a generation's secrets with the node's keys
// into place (secrets.Activation). The report is nil only when nothing
// was tried; with a report, the error is a secret that failed.
func ActivateSecrets(ctx context.Context, req ActivateRequest) (*secrets.Report, error) {
	a := &secrets.Activation{Root: req.Root, Generation: req.Root, Boot: req.Boot, Services: secrets.OpenRC{}}
	if req.Generation != 0 {
		n, err := Inspect(req.Store)
		if err != nil {
			return nil, err
		}
		gen, err := n.Generation(req.Generation)
		if err != nil {
			return nil, err
		}
		a.Generation = gen.Path
	}
	return a.Run(ctx)
}
