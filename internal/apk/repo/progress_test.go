package repo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		done, total       int
		bytes, totalBytes int64
		want              string
	}{
		{0, 6, 0, 433256, "fetch 0/6 packages, 0.0/423.1 KiB"},
		{3, 6, 216628, 433256, "fetch 3/6 packages, 211.6/423.1 KiB"},
		{1, 1, 512, 900, "fetch 1/1 packages, 512/900 B"},
		{10, 250, 5 << 20, 120 << 20, "fetch 10/250 packages, 5.0/120.0 MiB"},
	}
	for _, tt := range tests {
		if got := progressLine(tt.done, tt.total, tt.bytes, tt.totalBytes); got != tt.want {
			t.Errorf("progressLine = %q, want %q", got, tt.want)
		}
	}
}

func TestProgressDraws(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, total: 2, totalBytes: 2048}
	p.addBytes(1024)
	p.packageDone()
	p.addBytes(1024)
	p.packageDone()
	p.close()
	out := buf.String()
	if !strings.HasPrefix(out, "\rfetch 0/2 packages, 1.0/2.0 KiB\x1b[K") {
		t.Errorf("first line %q", out)
	}
	if !strings.HasSuffix(out, "\rfetch 2/2 packages, 2.0/2.0 KiB\x1b[K\n") {
		t.Errorf("last line %q", out)
	}
}

func TestProgressOnlyOnTerminals(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, w := range []any{&bytes.Buffer{}, file} {
		if p := newProgress(w.(interface{ Write([]byte) (int, error) }), 1, 1); p.w != nil {
			t.Errorf("%T counts as a terminal", w)
		}
	}
	if ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil {
		defer ptmx.Close()
		if !isTerminal(ptmx) {
			t.Error("a pseudo-terminal does not count as a terminal")
		}
	}

	// Fetching with a writer that is not a terminal writes nothing.
	f := loadFixtures(t)
	var out bytes.Buffer
	c := newClient(t, f)
	c.Progress = &out
	if _, err := c.Fetch(context.Background(), requests(Repository{URL: f.localRepo(t)}, f.pkgs...)); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("progress written to a buffer: %q", out.String())
	}
}
