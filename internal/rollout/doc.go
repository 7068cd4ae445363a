// Package rollout takes a sealed generation through a fleet, batch by
// batch: deliver it to each node, take the node's FleetLock slot, switch
// it as a trial, reboot, wait for the trial's outcome and the outside
// health gates, and give the slot back only once the trial is confirmed.
// A failed trial halts the rollout and records the generation as
// rejected (by its tree digest), so that no rollout offers it to any node
// again. Progress is kept in a journal, so an interrupted rollout
// resumes where it stood.
package rollout
