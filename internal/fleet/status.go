package fleet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cairnlinux/cairn/internal/fleetlock"
	"github.com/cairnlinux/cairn/internal/store"
)

// NodeStatus is what `cairn fleet status` shows of a node.
type NodeStatus struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// Reachable is false when the node could not be read; Error says
	// why.
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	Booted    int    `json:"booted"`
	Default   int    `json:"default"`
	NextBoot  int    `json:"nextBoot"`
	// Newest is the node's newest generation.
	Newest            int                `json:"newest"`
	NewestDescription string             `json:"newestDescription,omitempty"`
	NewestCreated     time.Time          `json:"newestCreated,omitzero"`
	Generations       int                `json:"generations"`
	Trial             store.Trial        `json:"trial,omitzero"`
	LastTrial         store.TrialOutcome `json:"lastTrial,omitzero"`
	// Group is the node's reboot group; HoldsLock says it holds one of
	// the group's FleetLock slots (nil when no server was asked).
	Group     string    `json:"group"`
	HoldsLock *bool     `json:"holdsLock,omitempty"`
	Checked   time.Time `json:"checked"`
}

// Report is the fleet's status.
type Report struct {
	Nodes []NodeStatus `json:"nodes"`
	// Locks are the FleetLock server's groups, when it was asked;
	// LockError says why it could not be.
	Locks     []fleetlock.GroupStatus `json:"locks,omitempty"`
	LockError string                  `json:"lockError,omitempty"`
	Checked   time.Time               `json:"checked"`
}

// Unreachable counts the nodes that could not be read.
func (r Report) Unreachable() int {
	n := 0
	for _, s := range r.Nodes {
		if !s.Reachable {
			n++
		}
	}
	return n
}

// Collect reads every node at once (each within timeout) and, when
// lockURL is set, the FleetLock server's holders. A node that cannot be
// read is reported as such, not an error.
func Collect(ctx context.Context, nodes []Node, specs []NodeSpec, lockURL string, timeout time.Duration) Report {
	rep := Report{Nodes: make([]NodeStatus, len(nodes)), Checked: time.Now().UTC()}
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			st, err := n.Status(cctx)
			if err != nil && st.Error == "" {
				st.Error = err.Error()
			}
			st.Name = n.Name()
			rep.Nodes[i] = st
		})
	}
	if lockURL != "" {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			groups, err := fleetlock.Groups(cctx, &http.Client{}, lockURL)
			if err != nil {
				rep.LockError = err.Error()
				return
			}
			rep.Locks = groups
		})
	}
	wg.Wait()
	if lockURL != "" && rep.LockError == "" {
		for i := range rep.Nodes {
			held := false
			for _, g := range rep.Locks {
				if g.Group == specs[i].Group && slices.Contains(g.Holders, specs[i].LockID) {
					held = true
				}
			}
			rep.Nodes[i].HoldsLock = &held
		}
	}
	return rep
}

// genText is a generation number for people: "-" for none.
func genText(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// TrialText says how the node's trials stand.
func (s NodeStatus) TrialText() string {
	switch {
	case s.Trial.Generation != 0 && s.Trial.TriesLeft > 0:
		return fmt.Sprintf("%d boots next, on trial", s.Trial.Generation)
	case s.Trial.Generation != 0 && s.Booted == s.Trial.Generation:
		return fmt.Sprintf("%d on trial, not confirmed yet", s.Trial.Generation)
	case s.Trial.Generation != 0:
		return fmt.Sprintf("%d failed (not confirmed)", s.Trial.Generation)
	case s.LastTrial.Outcome == store.TrialConfirmed:
		return fmt.Sprintf("%d confirmed", s.LastTrial.Generation)
	case s.LastTrial.Outcome == store.TrialFellBack:
		return fmt.Sprintf("%d fell back", s.LastTrial.Generation)
	}
	return "-"
}

// LockText says whether the node holds a reboot slot.
func (s NodeStatus) LockText() string {
	switch {
	case s.HoldsLock == nil:
		return "-"
	case *s.HoldsLock:
		return "holds " + s.Group
	}
	return "no (" + s.Group + ")"
}

// WriteText writes the report as a table.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tBOOTED\tDEFAULT\tNEWEST\tLAST TRIAL\tREBOOT SLOT\tSTATUS")
	for _, s := range r.Nodes {
		if !s.Reachable {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\tunreachable: %s\n", s.Name, s.LockText(), oneLine(s.Error))
			continue
		}
		state := "ok"
		if s.Booted != 0 && s.Default != 0 && s.Booted != s.Default {
			state = "booted is not the default"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, genText(s.Booted), genText(s.Default), genText(s.Newest), s.TrialText(), s.LockText(), state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.LockError != "" {
		fmt.Fprintf(w, "FleetLock server: %s\n", oneLine(r.LockError))
	}
	return nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
