package cairninit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/initramfs/kmod"
)

// ModuleOrder reads the modules.dep (and modules.softdep, if any) of a
// module directory and returns every module it lists, as paths, in an
// order that loads each after what it needs.
func ModuleOrder(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dep, err := kmod.ParseDep(f)
	if err != nil {
		return nil, err
	}
	pre := map[string][]string{}
	sf, err := os.Open(filepath.Join(dir, "modules.softdep"))
	switch {
	case err == nil:
		defer sf.Close()
		soft, err := kmod.ParseSoftdep(sf)
		if err != nil {
			return nil, err
		}
		for name, s := range soft {
			pre[name] = s.Pre
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	order, err := kmod.LoadOrder(dep.Order, dep.Deps, pre)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(order))
	for i, name := range order {
		p := dep.Paths[name]
		if kmod.Compression(p) != "" {
			return nil, fmt.Errorf("%s is compressed: the initramfs builder stores modules decompressed", p)
		}
		paths[i] = filepath.Join(dir, filepath.FromSlash(p))
	}
	return paths, nil
}
