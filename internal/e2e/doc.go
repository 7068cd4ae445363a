// Package e2e holds cairn's end-to-end tests: the real cairn and
// cairn-init binaries, built static, drive a real disk image (partitions,
// btrfs, a boot loader) that qemu boots. It has no code of its own.
//
// Every test calls t.Parallel: qemu under TCG keeps one core busy, and
// go test's -parallel (GOMAXPROCS) runs as many boot tests at once as
// there are cores. The tests share nothing on the host that would make
// that unsafe: the binaries and repositories (e2etest.Share) are made
// once under a mutex and only read; each test works in its own temporary
// directories; qemu's forwarded ports, the NBD listener of TestPowerCuts,
// the FleetLock server and podman's published port are free ports the
// kernel chose; loop devices are taken with LOOP_CTL_GET_FREE (or
// losetup -f) and only while a test builds or inspects an image, never
// while qemu runs; podman has its own storage, networks and a network
// name of its own; apt-get installs (debtest, and podman when it is
// missing) wait for dpkg's lock (DPkg::Lock::Timeout). A test
// that needs the host to itself must not call t.Parallel.
package e2e
