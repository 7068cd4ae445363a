package build

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// buildJob is one build run in a child process by TestBuildProcess, so
// that its time and peak memory can be measured on their own.
type buildJob struct {
	Manifest string                `json:"manifest"`
	Repos    []manifest.Repository `json:"repos"`
	Keys     string                `json:"keys"`
	Replace  []manifest.Artifact   `json:"artifacts,omitempty"`
	Root     string                `json:"root"`
	Cache    string                `json:"cache"`
	Lock     *manifest.Lock        `json:"lock,omitempty"`
}

func (j *buildJob) request() (Request, error) {
	sys, err := manifest.Load(j.Manifest)
	if err != nil {
		return Request{}, err
	}
	sys.ApplyDefaults()
	sys.Alpine.Repositories, sys.Alpine.Keys = j.Repos, []string{j.Keys}
	if j.Replace != nil {
		sys.Artifacts = j.Replace
	}
	return Request{Manifest: sys, ManifestPath: j.Manifest, Root: j.Root, CacheDir: j.Cache, Lock: j.Lock, Out: io.Discard, Err: io.Discard}, nil
}

// TestBuildProcess is the child side of the build benchmarks; it does
// nothing in a normal test run.
func TestBuildProcess(t *testing.T) {
	file := os.Getenv("CAIRN_BUILD_JOB")
	if file == "" {
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var j buildJob
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	req, err := j.request()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

// benchBuild builds an example from a warm cache (an untimed first build
// fills it and makes the lock), each time in a child process, and reports
// the child's wall time and peak RSS.
func benchBuild(b *testing.B, example string, prepare func(*testing.B, *manifest.System) []manifest.Artifact) {
	w := newWorld(b)
	path := filepath.Join(testutil.ModuleRoot(b), "examples", example, "system.yaml")
	sys, err := manifest.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	sys.ApplyDefaults()
	var arts []manifest.Artifact
	if prepare != nil {
		arts = prepare(b, sys)
	}
	stand := w.standIns(b, sys)
	dir := b.TempDir()
	j := &buildJob{
		Manifest: path,
		Repos:    []manifest.Repository{{URL: w.real}, {URL: stand.URL()}, {URL: w.synth}},
		Keys:     w.keys,
		Replace:  arts,
		Root:     filepath.Join(dir, "warmup"),
		Cache:    filepath.Join(dir, "cache"),
	}
	req, err := j.request()
	if err != nil {
		b.Fatal(err)
	}
	res, err := Build(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	j.Lock = res.Lock
	timeBin, err := exec.LookPath("time")
	if err != nil {
		b.Fatalf("GNU time is needed to measure the build's peak memory (apt-get install time): %v", err)
	}
	var wall time.Duration
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j.Root = filepath.Join(dir, "root", time.Now().Format("150405.000000000"))
		data, _ := json.Marshal(j)
		jobFile := filepath.Join(dir, "job.json")
		if err := os.WriteFile(jobFile, data, 0o644); err != nil {
			b.Fatal(err)
		}
		// The child runs under time(1): the kernel's rusage for a child
		// started by a Go process also counts the parent's pages.
		rssFile := filepath.Join(dir, "rss")
		cmd := exec.Command(timeBin, "-f", "%M", "-o", rssFile, os.Args[0], "-test.run=^TestBuildProcess$")
		cmd.Env = append(os.Environ(), "CAIRN_BUILD_JOB="+jobFile)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("build: %v\n%s", err, out)
		}
		rss, err := os.ReadFile(rssFile)
		if err != nil {
			b.Fatal(err)
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(string(rss)), 10, 64)
		if err != nil {
			b.Fatalf("time(1) output %q: %v", rss, err)
		}
		peak = max(peak, kb)
		os.RemoveAll(j.Root)
	}
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "ms/build")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
}

func BenchmarkBuildMinimal(b *testing.B) { benchBuild(b, "minimal", nil) }

// BenchmarkBuildClusterNode builds the cluster node with its artifacts
// (Nomad, Consul, ...) replaced by local files of 100 MB each.
func BenchmarkBuildClusterNode(b *testing.B) {
	benchBuild(b, "cluster-node", func(b *testing.B, sys *manifest.System) []manifest.Artifact {
		rng := rand.New(rand.NewPCG(1, 2))
		arts := append([]manifest.Artifact(nil), sys.Artifacts...)
		for i := range arts {
			a := &arts[i]
			data := make([]byte, 100<<20)
			for j := 0; j < len(data); j += 8 {
				v := rng.Uint64()
				for k := 0; k < 8 && j+k < len(data); k++ {
					data[j+k] = byte(v >> (8 * k))
				}
			}
			p := filepath.Join(b.TempDir(), a.Name)
			if err := os.WriteFile(p, data, 0o755); err != nil {
				b.Fatal(err)
			}
			a.URL, a.SHA256, a.Extract = p, sha256Hex(data), ""
		}
		sys.Artifacts = arts
		return arts
	})
}
