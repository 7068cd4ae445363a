package build

import (
	"github.com/cairnlinux/cairn/internal/container"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/tenant"
)

// effective is the system the build writes: the manifest with what its
// tenants and containers imply spelled out as a manifest would spell it
// (accounts, persistent homes, limits, services, files, health checks:
// tenant.Expand, container.Expand), and the containers' images. The
// generation's manifest digest stays that of the manifest as written.
func (b *builder) effective() (*manifest.System, map[string]*container.Image, error) {
	images, err := container.ReadImages(b.manifestDir, b.sys)
	if err != nil {
		return nil, nil, err
	}
	eff, _ := tenant.Expand(b.sys)
	if err := container.Expand(eff, images); err != nil {
		return nil, nil, err
	}
	return eff, images, nil
}
