package openrc

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the renderers")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the renderer's output (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.golden, func(t *testing.T) {
			script, err := InitScript(c.service, c.def)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden+".initd.golden", script)
			golden(t, c.golden+".confd.golden", ConfD(c.service, c.def))
		})
	}
}

// TestDeterministic renders each service many times: maps must not
// leak their order into the output.
func TestDeterministic(t *testing.T) {
	for _, c := range renderCases {
		first, _ := InitScript(c.service, c.def)
		firstConf := ConfD(c.service, c.def)
		for range 50 {
			again, _ := InitScript(c.service, c.def)
			if !bytes.Equal(again, first) || !bytes.Equal(ConfD(c.service, c.def), firstConf) {
				t.Fatalf("%s: output changes between renderings", c.golden)
			}
		}
	}
}
