//go:build !linux

package store

func shareTree(string, string) (ShareStats, error) { return ShareStats{}, errNotLinux }
