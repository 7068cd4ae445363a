//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lastCap is the highest capability this kernel knows.
func lastCap() (int, error) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read the capabilities the kernel knows: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 0 || n > 63 {
		return 0, fmt.Errorf("/proc/sys/kernel/cap_last_cap: %q is not a capability number", data)
	}
	return n, nil
}

// dropPrivileges reduces this thread's bounding set to keep, clears its
// inheritable and ambient capabilities (so that exec cannot bring others
// back), limits its permitted and effective sets to keep, and sets
// no_new_privs (set-user-ID bits and file capabilities grant nothing
// from then on). The program executed next then holds exactly keep: a
// root process's capabilities after exec are its bounding set.
func dropPrivileges(keep Caps, last int) error {
	for n := 0; n <= last; n++ {
		if keep.Has(n) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w", CapName(n), err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear the ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		word := uint32(keep >> (32 * i))
		data[i].Inheritable = 0
		data[i].Permitted &= word
		data[i].Effective &= word
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}
