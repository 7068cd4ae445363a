// Package fleetlock speaks FleetLock, the reboot-coordination protocol
// of Fedora CoreOS's Zincati (and Flatcar's FleetLock clients): a node
// takes a slot of its group's counting semaphore before it reboots
// (POST /v1/pre-reboot) and gives it back once it is healthy again (POST
// /v1/steady-state). Requests carry the header "fleet-lock-protocol:
// true" and the body {"client_params": {"id": ..., "group": ...}}; 200
// means granted, anything else refused.
//
// The server keeps each group's semaphore in a Backend: etcd, under the
// key and in the JSON airlock (the reference server) uses, so either
// server can serve the same etcd; or memory, for a single homelab
// machine. Client is the protocol's client, for cairn's nodes.
package fleetlock
