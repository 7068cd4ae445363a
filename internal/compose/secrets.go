package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/secrets"
)

// secretsScript is the OpenRC service that puts the generation's
// secrets in place at boot (cairn secrets activate --boot): in the boot
// runlevel, before the SSH host keys are made (it may make the ed25519
// one itself, for a node that has no key yet). The services that need a
// secret need it, so they start only once it succeeded.
const secretsScript = `#!/sbin/openrc-run
# Written by cairn.
description="Decrypt this generation's secrets into /run/secrets (memory)"

depend() {
	after bootmisc localmount
	before cairn-ssh-keys
}

start() {
	ebegin "Decrypting secrets into /run/secrets"
	` + layout.CairnBinary + ` secrets activate --boot
	eend $?
}
`

// Secrets puts the manifest's secrets into the root, encrypted: each
// age file (relative to manifestDir) at secrets.CiphertextDir/NAME.age,
// 0400 root, and secrets.SpecPath saying where each goes on the node,
// owned by whom (resolved in the root's accounts), and which services
// need it. It adds the cairn-secrets service to the boot runlevel and
// makes each of those services need it (rc_need in its /etc/conf.d
// file); they must have an init script in the root. A file that is not
// age-encrypted is refused: a plaintext never reaches a generation.
// Nothing is decrypted here. Without secrets it writes nothing.
func Secrets(root, manifestDir string, list []manifest.Secret, mtime time.Time) error {
	if len(list) == 0 {
		return nil
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	ids, err := loadOwners(r)
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := r.mkdirAll(secrets.CiphertextDir[1:], 0o755, 0, 0); err != nil {
		return err
	}
	var spec secrets.Spec
	var services []string
	for i, s := range list {
		p := fmt.Sprintf("secrets[%d]", i)
		e, err := secretEntry(r, ids, manifestDir, p, s)
		if err != nil {
			return err
		}
		for j, svc := range s.Services {
			if _, err := r.stat("etc/init.d/" + svc); err != nil {
				return &manifest.Error{Path: fmt.Sprintf("%s.services[%d]", p, j), Msg: fmt.Sprintf("%s has no init script /etc/init.d/%s in this system: name a service of its packages, services.define or files", svc, svc)}
			}
			if !slices.Contains(services, svc) {
				services = append(services, svc)
			}
		}
		spec.Secrets = append(spec.Secrets, e)
	}
	data, err := spec.Marshal()
	if err != nil {
		return err
	}
	if err := writeConfig(r, secrets.SpecPath[1:], data); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	for _, svc := range services {
		if err := needSecrets(r, svc); err != nil {
			return fmt.Errorf("secrets: service %s: %w", svc, err)
		}
	}
	if err := r.mkdirAll("etc/init.d", 0o755, 0, 0); err != nil {
		return err
	}
	script := "etc/init.d/" + secrets.ServiceName
	if err := r.writeFile(script, []byte(secretsScript), 0o755, 0, 0); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := r.mkdirAll("etc/runlevels/boot", 0o755, 0, 0); err != nil {
		return err
	}
	if err := r.symlink("etc/runlevels/boot/"+secrets.ServiceName, "/"+script, 0, 0); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return r.finish()
}

// secretEntry copies one encrypted file into the root and returns its
// spec entry.
func secretEntry(r *rootFS, ids *owners, manifestDir, p string, s manifest.Secret) (secrets.Entry, error) {
	src := s.File
	if !filepath.IsAbs(src) {
		src = filepath.Join(manifestDir, src)
	}
	f, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return secrets.Entry{}, &manifest.Error{Path: p + ".file", Msg: fmt.Sprintf("%s does not exist: cairn secrets edit %s makes it", s.File, s.Name)}
	}
	if err != nil {
		return secrets.Entry{}, fmt.Errorf("%s.file: %w", p, err)
	}
	defer f.Close()
	var data bytes.Buffer
	if _, err := io.Copy(&data, io.LimitReader(f, secrets.MaxSize+1)); err != nil {
		return secrets.Entry{}, fmt.Errorf("%s.file: %w", p, err)
	}
	if data.Len() > secrets.MaxSize {
		return secrets.Entry{}, &manifest.Error{Path: p + ".file", Msg: fmt.Sprintf("%s is larger than %d MiB: a secret is held in the node's memory", s.File, secrets.MaxSize>>20)}
	}
	if !secrets.IsAge(data.Bytes()) {
		return secrets.Entry{}, &manifest.Error{Path: p + ".file", Msg: fmt.Sprintf("%s is not an age-encrypted file, so it is not copied into the system: encrypt it with cairn secrets edit %s", s.File, s.Name)}
	}
	uid, gid, err := ids.resolve(s.Owner)
	if err != nil {
		return secrets.Entry{}, &manifest.Error{Path: p + ".owner", Msg: err.Error()}
	}
	mode := s.Mode
	if mode == "" {
		mode = manifest.DefaultSecretMode
	}
	file := secrets.CiphertextDir + "/" + s.Name + ".age"
	if err := r.writeFile(file[1:], data.Bytes(), 0o400, 0, 0); err != nil {
		return secrets.Entry{}, fmt.Errorf("%s: %w", p, err)
	}
	owner := s.Owner
	if owner == "" {
		owner = manifest.DefaultOwner
	}
	return secrets.Entry{Name: s.Name, File: file, Path: s.SecretPath(), Owner: owner, UID: uid, GID: gid, Mode: mode,
		Services: s.Services}, nil
}

// needSecrets makes the service svc need cairn-secrets, through its
// /etc/conf.d file, which OpenRC reads for its dependencies too.
func needSecrets(r *rootFS, svc string) error {
	rel := "etc/conf.d/" + svc
	var conf bytes.Buffer
	if old, err := r.readFile(rel); err == nil {
		conf.Write(old)
		if len(old) > 0 && old[len(old)-1] != '\n' {
			conf.WriteByte('\n')
		}
		conf.WriteByte('\n')
	}
	fmt.Fprintf(&conf, "# Added by cairn: this service needs secrets, which the %s service puts in place.\nrc_need=\"${rc_need:+$rc_need }%s\"\n",
		secrets.ServiceName, secrets.ServiceName)
	if err := r.mkdirAll("etc/conf.d", 0o755, 0, 0); err != nil {
		return err
	}
	return writeConfig(r, rel, conf.Bytes())
}
