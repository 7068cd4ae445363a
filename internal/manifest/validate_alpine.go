package manifest

import (
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

func (v *validator) alpine(a *Alpine) {
	if a.Version != "" && !alpineVersion.MatchString(a.Version) {
		hint := "v3.19, edge or latest-stable"
		if alpineVersion.MatchString("v" + a.Version) {
			hint = "v" + a.Version
		}
		v.add("alpine.version", "%s is not an Alpine branch: write %s", quoted(a.Version), hint)
	}
	if a.Arch != "" && !slices.Contains(arches, a.Arch) {
		v.add("alpine.arch", "%s is not an Alpine architecture (use %s, or leave it out for the build machine's)", quoted(a.Arch), oneOf(arches))
	}
	if len(a.Repositories) == 0 {
		v.add("alpine.repositories", "missing: list at least one repository, like - url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main")
	}
	urls, tags := unique{}, unique{}
	for i, r := range a.Repositories {
		p := indexPath("alpine.repositories", i)
		v.location(keyPath(p, "url"), r.URL, "https://dl-cdn.alpinelinux.org/alpine/v3.19/main")
		if r.URL != "" {
			urls.seen(v, keyPath(p, "url"), r.URL, "repository")
		}
		switch {
		case r.Tag == "":
		case strings.HasPrefix(r.Tag, "@"):
			v.add(keyPath(p, "tag"), "write the tag without @: tag: %s (packages then ask for name@%s)", r.Tag[1:], r.Tag[1:])
		case !repoTag.MatchString(r.Tag):
			v.add(keyPath(p, "tag"), "%s is not a tag: use letters, digits, '.', '_' and '-', like edge or testing", quoted(r.Tag))
		default:
			tags.seen(v, keyPath(p, "tag"), r.Tag, "repository tag")
		}
	}
	for i, k := range a.Keys {
		p := indexPath("alpine.keys", i)
		switch {
		case k == "":
			v.add(p, "empty: give a .rsa.pub file or a directory of them, like keys or /etc/apk/keys")
		}
	}
}

// location checks a URL or a local path: http(s)://, file:// or a path
// relative to the manifest.
func (v *validator) location(p, loc, example string) {
	if loc == "" {
		v.add(p, "missing: give a URL like %s, or a path relative to the manifest", example)
		return
	}
	if strings.ContainsAny(loc, " \t\n\r\x00") {
		v.add(p, "%s contains white space: encode it as %%20", quoted(loc))
		return
	}
	if isLocalPath(loc) {
		return
	}
	u, err := url.Parse(loc)
	if err != nil {
		v.add(p, "%s is not a URL: %v", quoted(loc), unwrapURLError(err))
		return
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			v.add(p, "%s has no host: write %s://HOST/PATH", quoted(loc), u.Scheme)
		}
	case "file":
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			v.add(p, "%s is not a file URL: write file:///absolute/path, or a path relative to the manifest", quoted(loc))
		}
	default:
		v.add(p, "%s: the scheme %s is not supported (use https://, http://, file:// or a path relative to the manifest)", quoted(loc), u.Scheme)
	}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// dependency checks one entry of a world or depends list.
func (v *validator) dependency(p, text string) (apk.Dependency, bool) {
	if text == "" {
		v.add(p, "empty: give a package name, like openssh")
		return apk.Dependency{}, false
	}
	d, err := apk.ParseDependency(text)
	if err != nil {
		v.add(p, "%s is not an apk dependency: write name, name@tag, name>=1.2 or !name", quoted(text))
		return d, false
	}
	if !packageName.MatchString(d.Name) {
		v.add(p, "%s is not a package name: use letters, digits and . _ + - : (like py3-yaml or so:libz.so.1)", quoted(d.Name))
		return d, false
	}
	return d, true
}

func (v *validator) packages(pkgs []string, repos []Repository) {
	tags := map[string]bool{}
	for _, r := range repos {
		tags[r.Tag] = true
	}
	seen := map[string]int{}
	for i, text := range pkgs {
		p := indexPath("packages", i)
		d, ok := v.dependency(p, text)
		if !ok {
			continue
		}
		if d.Tag != "" && !tags[d.Tag[1:]] {
			v.add(p, "%s asks for the tag %s, but no repository has tag: %s (add it to a repository in alpine.repositories)", quoted(text), d.Tag[1:], d.Tag[1:])
		}
		if j, dup := seen[d.Name]; dup && pkgs[j] != text {
			v.addRef(p, indexPath("packages", j), "%s contradicts %s: apk keeps one entry per name, write one", quoted(text), quoted(pkgs[j]))
		} else if !dup {
			seen[d.Name] = i
		}
	}
}

// archiveSuffixes are the downloads extract can take a member from.
var archiveSuffixes = []string{".zip", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar.zst"}

func (v *validator) artifacts(arts []Artifact) {
	names, paths := unique{}, unique{}
	for i, a := range arts {
		p := indexPath("artifacts", i)
		switch {
		case a.Name == "":
			v.add(keyPath(p, "name"), "missing: the package name the artifact is installed as, like nomad")
		case !packageName.MatchString(a.Name) || strings.Contains(a.Name, ":"):
			v.add(keyPath(p, "name"), "%s is not a package name: use lower-case letters, digits and . _ + -", quoted(a.Name))
		default:
			names.seen(v, keyPath(p, "name"), a.Name, "artifact")
		}
		switch {
		case a.Version == "":
			v.add(keyPath(p, "version"), "missing: the version it is installed as, in apk syntax, like 1.7.7")
		case !apk.ValidVersion(a.Version):
			v.add(keyPath(p, "version"), "%s is not an apk version: write digits and dots with optional suffixes, like 1.7.7 or 2.0_rc1-r0", quoted(a.Version))
		}
		v.location(keyPath(p, "url"), a.URL, "https://releases.hashicorp.com/nomad/1.7.7/nomad_1.7.7_linux_amd64.zip")
		switch {
		case a.SHA256 == "":
			v.add(keyPath(p, "sha256"), "missing: the SHA-256 of the download, 64 hex digits (sha256sum FILE prints it)")
		case !sha256Hex.MatchString(a.SHA256):
			v.add(keyPath(p, "sha256"), "%s is not a SHA-256: it has 64 hex digits (sha256sum FILE prints it)", quoted(a.SHA256))
		}
		if a.Extract != "" {
			v.member(keyPath(p, "extract"), a.Extract)
			if a.URL != "" && !hasArchiveSuffix(a.URL) {
				v.add(keyPath(p, "extract"), "extract takes a member of an archive, but the URL does not end in %s", oneOf(archiveSuffixes))
			}
		}
		v.absPath(keyPath(p, "path"), a.Path, "/usr/bin/nomad")
		if a.Path != "" {
			paths.seen(v, keyPath(p, "path"), a.Path, "artifact path")
		}
		v.mode(keyPath(p, "mode"), a.Mode)
		v.owner(keyPath(p, "owner"), a.Owner)
		for j, dep := range a.Depends {
			v.dependency(indexPath(keyPath(p, "depends"), j), dep)
		}
	}
}

// member checks the path of a member inside an archive.
func (v *validator) member(p, m string) {
	clean := path.Clean(m)
	switch {
	case strings.HasPrefix(m, "/"):
		v.add(p, "%s: a member of the archive is named relative to its top, like nomad or bin/nomad", quoted(m))
	case clean == ".." || strings.HasPrefix(clean, "../"):
		v.add(p, "%s points outside the archive", quoted(m))
	}
}

func hasArchiveSuffix(loc string) bool {
	if u, err := url.Parse(loc); err == nil && u.Path != "" {
		loc = u.Path
	}
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(strings.ToLower(loc), s) {
			return true
		}
	}
	return false
}
