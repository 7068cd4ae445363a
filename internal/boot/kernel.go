package boot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Kernel is a generation's kernel.
type Kernel struct {
	// Image is the kernel image (the generation's /boot/vmlinuz-*).
	Image string
	// Modules is its modules directory (/lib/modules/<Version>).
	Modules string
	Version string
}

// FindKernel finds the kernel of the generation rooted at root, as Alpine's
// kernel packages install it: /boot/vmlinuz-<flavor> and
// /lib/modules/<version>. pkg is the kernel package recorded for the
// generation ("linux-virt 6.6.58-r0"), which picks the flavor when there
// are several.
func FindKernel(root, pkg string) (Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz*"))
	if len(images) > 1 && pkg != "" {
		flavor := strings.TrimPrefix(strings.Fields(pkg)[0], "linux-")
		for _, img := range images {
			if filepath.Base(img) == "vmlinuz-"+flavor {
				images = []string{img}
				break
			}
		}
	}
	switch len(images) {
	case 0:
		return Kernel{}, errors.New("no kernel in its /boot (vmlinuz-*): add a kernel package (kernel.package) to the manifest")
	case 1:
	default:
		return Kernel{}, fmt.Errorf("several kernels in its /boot (%s) and none matches kernel.package", strings.Join(baseNames(images), ", "))
	}
	k := Kernel{Image: images[0]}
	mods, _ := os.ReadDir(filepath.Join(root, "lib", "modules"))
	var dirs []string
	for _, m := range mods {
		if m.IsDir() {
			dirs = append(dirs, m.Name())
		}
	}
	switch len(dirs) {
	case 0:
	case 1:
		k.Version, k.Modules = dirs[0], filepath.Join(root, "lib", "modules", dirs[0])
	default:
		return Kernel{}, fmt.Errorf("modules of several kernels in /lib/modules (%s): cannot tell which belongs to %s", strings.Join(dirs, ", "), filepath.Base(k.Image))
	}
	return k, nil
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}
