package cli

import (
	"os"
	"path/filepath"
	"strconv"
)

// sourceDateEpoch is SOURCE_DATE_EPOCH, which apk 2.14 gives the entries
// of lib/apk/db/scripts.tar; 0 when unset or not a number.
func sourceDateEpoch(g *Globals) int64 {
	n, err := strconv.ParseInt(g.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// defaultCacheDir is where cairn keeps downloaded indexes and packages
// when no --cache-dir is given: a host directory, never inside the root
// being built.
func defaultCacheDir(g *Globals) string {
	if os.Geteuid() == 0 {
		return "/var/cache/cairn/apk"
	}
	if dir := g.Getenv("XDG_CACHE_HOME"); dir != "" {
		return filepath.Join(dir, "cairn", "apk")
	}
	if home := g.Getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache", "cairn", "apk")
	}
	return filepath.Join(os.TempDir(), "cairn-apk-cache")
}
