package store

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Meta is what a generation is, kept in @cairn/meta/<N>.json beside its
// tree. It is written, and synced, before the generation exists and never
// changes afterwards.
type Meta struct {
	// Generation is the generation's number; Seal sets it.
	Generation int `json:"generation"`
	// Parent is the generation this one was built from (usually the
	// default at build time); 0 for none.
	Parent int `json:"parent,omitempty"`
	// Created is when the generation was sealed; Seal sets it when zero.
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
	// ManifestDigest and LockDigest identify the manifest and the lock
	// the generation was built from.
	ManifestDigest string `json:"manifestDigest,omitempty"`
	LockDigest     string `json:"lockDigest,omitempty"`
	// Kernel is the kernel the generation boots ("linux-lts 6.6.58-r0").
	Kernel   string    `json:"kernel,omitempty"`
	Packages []Package `json:"packages,omitempty"`
	// TreeDigest identifies the tree's content (every name's type, mode,
	// owner, time, extended attributes, data and link target) as
	// internal/deliver computes it; set on generations a delivery
	// brought, whose digest was checked before sealing.
	TreeDigest string `json:"treeDigest,omitempty"`
	// Source says where a delivered generation came from: the sender's
	// name for it and the key that signed it.
	Source string `json:"source,omitempty"`
	// Recovered says Fsck rebuilt this record because the original was
	// missing or unreadable; only Generation and Created are then known.
	Recovered bool `json:"recovered,omitempty"`
}

// Package is an installed package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (s *Store) writeMeta(m Meta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("metadata of generation %d: %w", m.Generation, err)
	}
	return s.writeAtomic(s.metaPath(m.Generation), append(data, '\n'), "")
}

// readMeta reads meta/<n>.json and checks that it describes n.
func (s *Store) readMeta(n int) (Meta, error) {
	data, err := os.ReadFile(s.metaPath(n))
	if err != nil {
		return Meta{}, err
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return Meta{}, fmt.Errorf("%s: %w", s.rel(s.metaPath(n)), err)
	}
	if m.Generation != n {
		return Meta{}, fmt.Errorf("%s describes generation %d", s.rel(s.metaPath(n)), m.Generation)
	}
	return m, nil
}

// checkMeta checks that meta/<n>.json is whole and describes n, without
// keeping what it holds: fsck's check, cheaper than readMeta.
func (s *Store) checkMeta(n int) error {
	data, err := os.ReadFile(s.metaPath(n))
	if err != nil {
		return err
	}
	var m struct {
		Generation int       `json:"generation"`
		Created    time.Time `json:"created"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", s.rel(s.metaPath(n)), err)
	}
	if m.Generation != n {
		return fmt.Errorf("%s describes generation %d", s.rel(s.metaPath(n)), m.Generation)
	}
	return nil
}
