package build

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/solver"
)

func TestCheck(t *testing.T) {
	w := newWorld(t)
	cache := filepath.Join(t.TempDir(), "cache")
	check := func(t *testing.T, text string, offline bool) (*CheckResult, error) {
		t.Helper()
		mp, sys := writeManifest(t, text)
		return Check(context.Background(), Request{Manifest: sys, ManifestPath: mp, CacheDir: cache, Offline: offline})
	}
	problems := func(t *testing.T, err error) []string {
		t.Helper()
		var pe *ProblemsError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v, want a *ProblemsError", err)
		}
		var out []string
		for _, e := range pe.Problems {
			out = append(out, e.Error())
		}
		return out
	}

	t.Run("good", func(t *testing.T) {
		res, err := check(t, w.manifestText(""), true)
		if err != nil || len(res.Unchecked) != 0 || len(res.Selected) == 0 {
			t.Fatalf("%v, %+v", err, res)
		}
		// The second check reads the listings it kept.
		if res, err := check(t, w.manifestText(""), true); err != nil || len(res.Unchecked) != 0 {
			t.Fatalf("again: %v, %+v", err, res)
		}
	})
	t.Run("services and zone", func(t *testing.T) {
		text := strings.Replace(w.manifestText(""), "default: [sshd, greeter]", "default: [sshd, greeter, sshdd]", 1)
		text = strings.Replace(text, "timezone: Europe/Berlin", "timezone: Europe/Berlim", 1)
		_, err := check(t, text, false)
		got := problems(t, err)
		want := []string{
			"timezone: Europe/Berlim is not a time zone of tzdata-2023d-r0; did you mean Europe/Berlin?",
			"services.default[2]: no package, artifact or file provides the service sshdd (/etc/init.d/sshdd); did you mean sshd?",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if errors.Is(err, solver.ErrUnsatisfiable) {
			t.Error("unsatisfiable, but every package resolves")
		}
	})
	t.Run("unsatisfiable", func(t *testing.T) {
		_, err := check(t, strings.Replace(w.manifestText(""), "hello]", "hello>=3]", 1), false)
		got := problems(t, err)
		if len(got) != 1 || !strings.HasPrefix(got[0], "packages[3]: the packages cannot be satisfied; apk says:\n  ERROR: unable to select packages:") || !errors.Is(err, solver.ErrUnsatisfiable) {
			t.Errorf("got %q (%v)", got, err)
		}
	})
	t.Run("remote and offline", func(t *testing.T) {
		text := strings.Replace(w.manifestText(""), "- url: "+w.synth, "- url: https://example.invalid/alpine/main", 1)
		res, err := check(t, text, true)
		if err != nil || len(res.Unchecked) != 1 || !strings.Contains(res.Unchecked[0], "https://example.invalid/alpine/main is not in the cache") || res.Selected != nil {
			t.Errorf("%v, %+v", err, res)
		}
	})
}
