package cairninit

import (
	"fmt"
	"os"
	"path/filepath"
)

// KernelMismatch says, when the generation rooted at root has kernel
// modules but none for the running kernel's release, that it boots
// without them, and how to boot it with its own kernel; "" otherwise. It
// happens when a trial brought another kernel and the loader's default
// entry, which loads the next boot's kernel, still names the trial's
// while the default generation boots in its place: the entries are
// rewritten at the next cairn command.
func KernelMismatch(root, release string, n int) string {
	if release == "" {
		return ""
	}
	entries, err := os.ReadDir(filepath.Join(root, "lib", "modules"))
	if err != nil || len(entries) == 0 {
		return ""
	}
	if _, err := os.Stat(filepath.Join(root, "lib", "modules", release)); err == nil {
		return ""
	}
	return fmt.Sprintf("generation %d has no modules for the running kernel %s (the loader entry loaded another generation's kernel): it runs without them until the boot entries are rewritten by the next cairn command; the loader entry cairn-%d boots it with its own kernel", n, release, n)
}
