package container

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// RecordPath lists the images of a generation's containers, for Prune.
const RecordPath = "/usr/lib/cairn/containers.json"

// Record is the file at RecordPath.
type Record struct {
	Images []*Image `json:"images"`
}

// ReadImages reads the image of every container of sys (ReadImage), by
// container name; all problems at once.
func ReadImages(manifestDir string, sys *manifest.System) (map[string]*Image, error) {
	images := map[string]*Image{}
	var errs manifest.Errors
	for _, name := range slices.Sorted(maps.Keys(sys.Containers)) {
		img, err := ReadImage(manifestDir, name, sys.Containers[name])
		if err != nil {
			if me, ok := err.(*manifest.Error); ok {
				errs = append(errs, me)
				continue
			}
			return nil, err
		}
		images[name] = img
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return images, nil
}

// Expand writes out, in eff, the services of its containers the way a
// manifest would write them: each container's init script and conf.d
// (files.inline), the container in its runlevel, a trial check of its
// health, and the record of the generation's images. images are
// ReadImages's.
func Expand(eff *manifest.System, images map[string]*Image) error {
	if len(eff.Containers) == 0 {
		return nil
	}
	rec := Record{Images: []*Image{}}
	for _, name := range slices.Sorted(maps.Keys(eff.Containers)) {
		c, img := eff.Containers[name], images[name]
		if img == nil {
			return fmt.Errorf("containers.%s: its image was not read", name)
		}
		sc := Script(name, c, img)
		script, err := sc.InitScript()
		if err != nil {
			return fmt.Errorf("containers.%s: %w", name, err)
		}
		eff.Files.Inline = append(eff.Files.Inline,
			manifest.InlineFile{Path: manifest.InitDir + "/" + name, Content: string(script), Mode: manifest.DefaultExecMode, Owner: manifest.DefaultOwner},
			manifest.InlineFile{Path: "/etc/conf.d/" + name, Content: string(sc.ConfD()), Mode: manifest.DefaultFileMode, Owner: manifest.DefaultOwner})
		level := c.Runlevel
		if level == "" {
			level = manifest.DefaultContainerRunlevel
		}
		if eff.Services.Runlevels == nil {
			eff.Services.Runlevels = map[string][]string{}
		}
		if !slices.Contains(eff.Services.Runlevels[level], name) {
			eff.Services.Runlevels[level] = append(eff.Services.Runlevels[level], name)
		}
		eff.Health = append(eff.Health, HealthCheck(name, c))
		rec.Images = append(rec.Images, img)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	eff.Files.Inline = append(eff.Files.Inline, manifest.InlineFile{Path: RecordPath, Content: string(data) + "\n", Mode: manifest.DefaultFileMode, Owner: manifest.DefaultOwner})
	return nil
}
