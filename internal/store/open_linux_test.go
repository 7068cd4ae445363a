package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

func TestOpenErrors(t *testing.T) {
	write := func(t *testing.T, dir, content string) {
		if err := os.MkdirAll(filepath.Join(dir, "@cairn"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "@cairn", "store.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		prepare  func(t *testing.T, dir string)
		want     string
		notStore bool
	}{
		{"empty directory", func(*testing.T, string) {}, "not a cairn store (no @cairn/store.json", true},
		{"missing directory", func(t *testing.T, dir string) { os.Remove(dir) }, "not a cairn store", true},
		{"newer format", func(t *testing.T, dir string) { write(t, dir, `{"format": 2, "backend": "plain"}`) }, "format 2, this cairn reads format 1", false},
		{"unknown backend", func(t *testing.T, dir string) { write(t, dir, `{"format": 1, "backend": "zfs"}`) }, `unknown backend "zfs"`, false},
		{"garbage", func(t *testing.T, dir string) { write(t, dir, `{"form`) }, "store.json", false},
		{"btrfs elsewhere", func(t *testing.T, dir string) { write(t, dir, `{"format": 1, "backend": "btrfs"}`) }, "recorded as btrfs, but", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.prepare(t, dir)
			_, err := store.Open(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, store.ErrNotStore) != tt.notStore {
				t.Errorf("Open = %v, want an error containing %q (ErrNotStore: %t)", err, tt.want, tt.notStore)
			}
		})
	}
}

func TestInitErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name string
		dir  string
		opts store.InitOptions
		want string
	}{
		{"a file", file, store.InitOptions{}, "not a directory"},
		{"missing", filepath.Join(t.TempDir(), "missing"), store.InitOptions{}, "no such file"},
		{"btrfs backend off btrfs", t.TempDir(), store.InitOptions{Backend: store.BackendBtrfs}, "needs a directory on btrfs"},
		{"unknown backend", t.TempDir(), store.InitOptions{Backend: "zfs"}, `unknown backend "zfs"`},
		{"quota on plain", t.TempDir(), store.InitOptions{Backend: store.BackendPlain, Quota: true}, "quota accounting needs the btrfs backend"},
	}
	for _, tt := range tests {
		if _, err := store.Init(tt.dir, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Init = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
