package image

import "fmt"

// Platform is an OCI platform: GOARCH-style architecture names.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// PlatformOf maps an Alpine architecture to the OCI platform of images
// built for it.
func PlatformOf(alpineArch string) (Platform, error) {
	p := Platform{OS: "linux"}
	switch alpineArch {
	case "x86_64":
		p.Architecture = "amd64"
	case "x86":
		p.Architecture = "386"
	case "aarch64":
		p.Architecture = "arm64"
	case "armv7":
		p.Architecture, p.Variant = "arm", "v7"
	case "armhf":
		p.Architecture, p.Variant = "arm", "v6"
	case "ppc64le", "s390x", "riscv64":
		p.Architecture = alpineArch
	case "loongarch64":
		p.Architecture = "loong64"
	case "":
		return p, fmt.Errorf("no architecture: an OCI image needs the generation's (x86_64, aarch64, ...)")
	default:
		return p, fmt.Errorf("architecture %q: not an Alpine architecture cairn knows (x86_64, x86, aarch64, armv7, armhf, ppc64le, s390x, riscv64, loongarch64)", alpineArch)
	}
	return p, nil
}
