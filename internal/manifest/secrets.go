package manifest

import (
	"path"
	"strconv"
	"strings"
)

// Where secrets go on a node, and their defaults (docs/secrets.md).
const (
	// SecretsDir is the memory file system the node decrypts secrets into;
	// every secret's path is below it.
	SecretsDir        = "/run/secrets"
	DefaultSecretMode = "0400"
)

// secretName is a secret's name: also a file name on the node and in the
// generation.
var secretName = lazy(`^[a-z0-9][a-z0-9._-]*$`)

// SecretPath is where the node puts secret s: its path, else
// SecretsDir/NAME.
func (s Secret) SecretPath() string {
	if s.Path != "" {
		return s.Path
	}
	return SecretsDir + "/" + s.Name
}

func (s *System) applySecretDefaults() {
	for i := range s.Secrets {
		sec := &s.Secrets[i]
		sec.Path = or(sec.Path, sec.SecretPath())
		sec.Owner = or(sec.Owner, DefaultOwner)
		sec.Mode = or(sec.Mode, DefaultSecretMode)
	}
}

func (v *validator) secrets(secrets []Secret) {
	names, paths := unique{}, unique{}
	for i, sec := range secrets {
		p := indexPath("secrets", i)
		_, twice := names[sec.Name]
		switch {
		case sec.Name == "":
			v.add(keyPath(p, "name"), "missing: name the secret, like db-password")
		case len(sec.Name) > 64 || !secretName.MatchString(sec.Name):
			v.add(keyPath(p, "name"), "%s is not a secret name: use at most 64 lower-case letters, digits and . _ -, starting with a letter or digit (like db-password)", quoted(sec.Name))
		default:
			names.seen(v, keyPath(p, "name"), sec.Name, "secret")
		}
		switch {
		case sec.File == "":
			v.add(keyPath(p, "file"), "missing: name the age-encrypted file beside the manifest, like secrets/%s.age (cairn secrets edit makes it)", or(sec.Name, "NAME"))
		case strings.ContainsAny(sec.File, "\n\x00"):
			v.add(keyPath(p, "file"), "a path cannot contain a newline or NUL")
		} // where it may be: localPaths
		if sec.Path != "" {
			if msg := absPathProblem(sec.Path, SecretsDir+"/"+or(sec.Name, "NAME")); msg != "" {
				v.add(keyPath(p, "path"), "%s", msg)
			} else if !strings.HasPrefix(sec.Path, SecretsDir+"/") {
				v.add(keyPath(p, "path"), "%s is not below %s: secrets are decrypted into memory there only (link to it from elsewhere with files.inline or the skeleton)", quoted(sec.Path), SecretsDir)
			}
		}
		// A name given twice is reported once, not again as its path.
		if sec.Name != "" && !twice && path.Clean(sec.SecretPath()) == sec.SecretPath() {
			paths.seen(v, keyPath(p, "path"), sec.SecretPath(), "secret path")
		}
		v.owner(keyPath(p, "owner"), sec.Owner)
		v.mode(keyPath(p, "mode"), sec.Mode)
		if m, err := strconv.ParseUint(sec.Mode, 8, 32); err == nil && m > 0o777 {
			v.add(keyPath(p, "mode"), "%s has setuid, setgid or sticky bits: a secret is data, give permission bits only, like 0400", quoted(sec.Mode))
		}
		services := unique{}
		for j, svc := range sec.Services {
			sp := indexPath(keyPath(p, "services"), j)
			if v.serviceName(sp, svc, "service name") {
				services.seen(v, sp, svc, "service")
			}
		}
	}
}
