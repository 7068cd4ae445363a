package database

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/testutil"
)

func openFixtureIndexes(t testing.TB, names ...string) *Database {
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	var repos []repo.Repository
	for _, n := range names {
		repos = append(repos, repo.Repository{URL: filepath.Join(fx, n+"-x86_64-APKINDEX.tar.gz")})
	}
	d, err := Open(context.Background(), Options{Repositories: repos, KeysDir: filepath.Join(fx, "keys")})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func readResolveFixture(t testing.TB, name string) (world string, want []string) {
	b, err := os.ReadFile(filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "resolve", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimPrefix(lines[0], "# world: "), lines[1:]
}

func resolveWorld(t testing.TB, d *Database, world string) []string {
	deps, err := apk.ParseDependencies(world)
	if err != nil {
		t.Fatal(err)
	}
	cs, nerr := d.DB.Solve(0, d.ResolveWorld(deps))
	if nerr > 0 {
		t.Fatalf("world %q: %d errors", world, nerr)
	}
	var got []string
	for _, c := range cs.Changes {
		if c.New != nil {
			got = append(got, c.New.NameVersion())
		}
	}
	sort.Strings(got)
	return got
}

func BenchmarkLoadAndResolveNodeCluster(b *testing.B) {
	world, want := readResolveFixture(b, "node-cluster")
	for i := 0; i < b.N; i++ {
		d := openFixtureIndexes(b, "main", "community")
		got := resolveWorld(b, d, world)
		if len(got) != len(want) {
			b.Fatalf("got %d packages, want %d", len(got), len(want))
		}
	}
}
