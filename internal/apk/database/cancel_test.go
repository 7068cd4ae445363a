package database

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
)

// pollCtx is a context that is done from its after+1-th look on, which
// makes the point where a solve notices deterministic.
type pollCtx struct {
	context.Context
	after, looks int
}

func (c *pollCtx) Err() error {
	c.looks++
	if c.looks > c.after {
		return context.Canceled
	}
	return nil
}

// A solve of the node-cluster world against main and community stops at
// its next look at the context once that is done (a signal), and the
// database still solves correctly afterwards.
func TestSolveStopsWhenCancelled(t *testing.T) {
	world, want := readResolveFixture(t, "node-cluster")
	d := openFixtureIndexes(t, "main", "community")
	deps, err := apk.ParseDependencies(world)
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []int{0, 1, 5} {
		ctx := &pollCtx{Context: context.Background(), after: after}
		cs, _, err := d.DB.SolveContext(ctx, 0, d.ResolveWorld(deps))
		if !errors.Is(err, context.Canceled) || cs != nil {
			t.Fatalf("after %d looks: %v, %v", after, cs, err)
		}
		if ctx.looks != after+1 {
			t.Errorf("went on for %d more looks at a done context", ctx.looks-after-1)
		}
	}
	if got := resolveWorld(t, d, world); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after cancelled solves the database solves differently:\n%s", strings.Join(got, "\n"))
	}
}
