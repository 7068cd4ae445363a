// Package fleet sees and drives a fleet of cairn nodes from an operator's
// machine: the fleet file (which nodes, how to reach them, their reboot
// groups), a Node each (what a rollout does to one machine: deliver a
// generation, switch to it as a trial, reboot, wait for the trial's
// outcome), and the fleet's status (per node: booted, default and newest
// generation, the last trial's outcome, whether it holds a reboot slot),
// as text, JSON and a read-only web page.
//
// Nodes are reached over ssh, as the operator reaches them: a node needs
// no daemon and no port of cairn's own, and what cairn runs there is the
// node's own `cairn status --json`, `cairn receive`, `cairn switch`.
package fleet
