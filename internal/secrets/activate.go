package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// Services are the node's services, as far as activation needs them:
// those of a changed secret are restarted when they run.
type Services interface {
	Started(ctx context.Context, name string) (bool, error)
	Restart(ctx context.Context, name string) error
}

// OpenRC is Services through rc-service.
type OpenRC struct{}

// Started reports whether OpenRC has the service started (rc-service
// NAME status exits 0).
func (OpenRC) Started(ctx context.Context, name string) (bool, error) {
	err := exec.CommandContext(ctx, "rc-service", name, "status").Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return false, nil
	}
	return err == nil, err
}

// Restart restarts the service (rc-service NAME restart).
func (OpenRC) Restart(ctx context.Context, name string) error {
	out, err := exec.CommandContext(ctx, "rc-service", name, "restart").CombinedOutput()
	if err != nil {
		return fmt.Errorf("rc-service %s restart: %v: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

// Activation puts a generation's secrets in place on the running node:
// each decrypted with the node's identities into the memory file system
// at /run/secrets with its owner and mode, replaced only when it
// changed; secrets the previous activation wrote and this generation
// does not declare removed; the services of changed secrets restarted
// when they run. What it did is recorded at StatusPath.
type Activation struct {
	// Root is the running system, "/": its /run/secrets, its identities
	// and its status file.
	Root string
	// Generation is the tree whose secrets are activated: Root for the
	// booted generation, or a generation of the store.
	Generation string
	// Boot is the activation the cairn-secrets service does at boot: a
	// node without an identity gets its SSH host key made first (see
	// CreateNodeKey), and nothing is restarted (the services that need a
	// secret start after it).
	Boot bool
	// Services restarts services; nil restarts none.
	Services Services
	// MemoryFS checks that a directory is on a memory file system (tmpfs
	// or ramfs); nil checks with statfs(2).
	MemoryFS func(dir string) error
}

// Report is what an activation did, recorded at StatusPath. It holds no
// secret.
type Report struct {
	// Identities are the node's keys it decrypted with, named by file.
	Identities []Recipient `json:"identities"`
	// Created is the key made for a node that had none.
	Created *Recipient `json:"created,omitempty"`
	Secrets []Result   `json:"secrets"`
	// Removed are secrets of the previous activation that the generation
	// no longer declares, deleted.
	Removed []string `json:"removed,omitempty"`
	// Restarted are the services restarted because a secret of theirs
	// changed.
	Restarted []string `json:"restarted"`
}

// Result is one secret's activation.
type Result struct {
	Name     string   `json:"name"`
	Path     string   `json:"path"`
	Owner    string   `json:"owner"`
	Mode     string   `json:"mode"`
	Services []string `json:"services,omitempty"`
	// State is StateWritten, StateUnchanged or StateFailed.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// Result states.
const (
	StateWritten   = "written"
	StateUnchanged = "unchanged"
	StateFailed    = "failed"
)

// Failed are the secrets that are not in place.
func (r *Report) Failed() []Result {
	var out []Result
	for _, s := range r.Secrets {
		if s.State == StateFailed {
			out = append(out, s)
		}
	}
	return out
}

// ActivationError names the secrets an activation could not put in
// place, and why.
type ActivationError struct {
	Failed []Result
}

func (e *ActivationError) Error() string {
	var parts []string
	for _, f := range e.Failed {
		parts = append(parts, fmt.Sprintf("secret %s: %s", f.Name, f.Error))
	}
	return strings.Join(parts, "; ")
}

// Run activates the generation's secrets. The report is returned, and
// recorded, also when secrets failed; the error is then an
// *ActivationError (or an error restarting a service).
func (a *Activation) Run(ctx context.Context) (*Report, error) {
	spec, err := LoadSpec(a.Generation)
	if err != nil {
		return nil, err
	}
	rep := &Report{Identities: []Recipient{}, Secrets: []Result{}, Restarted: []string{}}
	ids, idErr := NodeIdentities(a.Root)
	if idErr == nil && len(ids) == 0 && a.Boot {
		id, err := CreateNodeKey(a.Root, a.hostname())
		if err != nil {
			idErr = fmt.Errorf("make the node's key %s: %w", NodeSSHKey, err)
		} else {
			ids = []Identity{id}
			rep.Created = &id.Recipient
		}
	}
	for _, id := range ids {
		r := id.Recipient
		r.Name = id.File
		rep.Identities = append(rep.Identities, r)
	}

	dirErr := a.secretsDir(len(spec.Secrets) > 0)
	var changed []Entry
	for _, e := range spec.Secrets {
		res := Result{Name: e.Name, Path: e.Path, Owner: e.Owner, Mode: e.Mode, Services: e.Services}
		var err error
		switch {
		case idErr != nil:
			err = idErr
		case len(ids) == 0:
			err = fmt.Errorf("this node has no key to decrypt it with (%s): the cairn-secrets service makes one at boot", strings.Join(NodeIdentityFiles(), ", "))
		case dirErr != nil:
			err = dirErr
		default:
			res.State, err = a.put(e, ids)
		}
		if err != nil {
			res.State, res.Error = StateFailed, err.Error()
		}
		if res.State == StateWritten {
			changed = append(changed, e)
		}
		rep.Secrets = append(rep.Secrets, res)
	}
	rep.Removed = a.removeStale(spec)

	var restartErr error
	if !a.Boot && a.Services != nil {
		rep.Restarted, restartErr = a.restart(ctx, changed)
	}
	if err := a.record(rep); err != nil {
		return rep, err
	}
	if failed := rep.Failed(); len(failed) > 0 {
		return rep, &ActivationError{Failed: failed}
	}
	return rep, restartErr
}

func (a *Activation) hostname() string {
	data, err := os.ReadFile(filepath.Join(a.Root, "etc/hostname"))
	if h := strings.TrimSpace(string(data)); err == nil && h != "" {
		return h
	}
	return "cairn"
}

// secretsDir makes /run/secrets (root's, 0751: whoever owns a secret can
// reach it, nobody but root lists the names) and checks that it is in
// memory.
func (a *Activation) secretsDir(needed bool) error {
	if !needed {
		return nil
	}
	dir := filepath.Join(a.Root, manifest.SecretsDir)
	if err := os.MkdirAll(dir, 0o751); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o751); err != nil {
		return err
	}
	check := a.MemoryFS
	if check == nil {
		check = memoryFS
	}
	if err := check(dir); err != nil {
		return fmt.Errorf("%s: %w: secrets are decrypted into memory only", manifest.SecretsDir, err)
	}
	return nil
}

// put decrypts one secret and puts it in place, unless the file there
// already is the same, with the same owner and mode.
func (a *Activation) put(e Entry, ids []Identity) (string, error) {
	target, err := a.target(e.Path)
	if err != nil {
		return "", err
	}
	mode, err := strconv.ParseUint(e.Mode, 8, 32)
	if err != nil || mode > 0o777 {
		return "", fmt.Errorf("mode %q is not a permission mode", e.Mode)
	}
	data, err := os.ReadFile(filepath.Join(a.Generation, e.File))
	if err != nil {
		return "", fmt.Errorf("the encrypted file: %w", err)
	}
	plain, err := Decrypt(data, ageIdentities(ids))
	if noMatch(err) {
		enc, derr := Describe(data, nil)
		to := enc.String()
		if derr != nil {
			to = "keys its header does not tell"
		}
		var mine []string
		for _, id := range ids {
			mine = append(mine, id.Recipient.Kind()+" "+id.Recipient.Fingerprint()+" ("+id.File+")")
		}
		return "", fmt.Errorf("this node cannot decrypt it: it is encrypted to %s; this node's keys are %s: add this node's key to the secret's recipients (cairn secrets add-key), rekey (cairn secrets rekey) and build again",
			to, strings.Join(mine, ", "))
	}
	if err != nil {
		return "", fmt.Errorf("decrypt %s: %w", e.File, err)
	}
	defer clear(plain)
	if same(target, plain, e.UID, e.GID, uint32(mode)) {
		return StateUnchanged, nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o751); err != nil {
		return "", err
	}
	if err := writeSecret(target, plain, e.UID, e.GID, os.FileMode(mode)); err != nil {
		return "", err
	}
	return StateWritten, nil
}

// target is where a secret goes in the root, which must be below
// /run/secrets.
func (a *Activation) target(p string) (string, error) {
	clean := filepath.Clean(p)
	if clean != p || !strings.HasPrefix(p, manifest.SecretsDir+"/") {
		return "", fmt.Errorf("path %q is not below %s", p, manifest.SecretsDir)
	}
	return filepath.Join(a.Root, p), nil
}

// same reports whether the regular file at target holds data with that
// owner and mode.
func same(target string, data []byte, uid, gid int, mode uint32) bool {
	fi, err := os.Lstat(target)
	if err != nil || !fi.Mode().IsRegular() || uint32(fi.Mode().Perm()) != mode || fi.Size() != int64(len(data)) {
		return false
	}
	if u, g, ok := fileOwner(fi); !ok || u != uid || g != gid {
		return false
	}
	old, err := os.ReadFile(target)
	defer clear(old)
	return err == nil && bytes.Equal(old, data)
}

// writeSecret replaces target with data: a new file beside it, private
// to root until it has its owner and mode, then renamed over it, so a
// service never reads half a secret or one with the wrong owner.
func writeSecret(target string, data []byte, uid, gid int, mode os.FileMode) error {
	return rootfs.WriteFileAt(target, data, rootfs.WriteOptions{Perm: uint32(mode.Perm()), Chown: true, UID: uid, GID: gid})
}

// removeStale deletes the secrets the previous activation wrote that
// spec no longer declares.
func (a *Activation) removeStale(spec Spec) []string {
	prev, err := LoadStatus(a.Root)
	if err != nil || prev == nil {
		return nil
	}
	var out []string
	for _, old := range prev.Secrets {
		if slices.ContainsFunc(spec.Secrets, func(e Entry) bool { return e.Path == old.Path }) {
			continue
		}
		target, err := a.target(old.Path)
		if err != nil {
			continue
		}
		if err := os.Remove(target); err == nil {
			out = append(out, old.Path)
		}
	}
	return out
}

// restart restarts the services of the changed secrets that run, each
// once, in order.
func (a *Activation) restart(ctx context.Context, changed []Entry) ([]string, error) {
	var names []string
	for _, e := range changed {
		names = append(names, e.Services...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	restarted := []string{}
	var errs []error
	for _, name := range names {
		started, err := a.Services.Started(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !started {
			continue
		}
		if err := a.Services.Restart(ctx, name); err != nil {
			errs = append(errs, err)
			continue
		}
		restarted = append(restarted, name)
	}
	return restarted, errors.Join(errs...)
}

// record writes the report to StatusPath.
func (a *Activation) record(rep *Report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	file := filepath.Join(a.Root, StatusPath)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(file, append(data, '\n'), 0o644)
}

// LoadStatus reads the last activation's report on the node at root;
// nil when there was none this boot.
func LoadStatus(root string) (*Report, error) {
	data, err := os.ReadFile(filepath.Join(root, StatusPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", StatusPath, err)
	}
	return &rep, nil
}

// Check says what is wrong with the secrets of the booted generation at
// root: each must be recorded in place by this boot's activation and be
// there. It returns nil when all are (or there are none).
func Check(root string) []string {
	spec, err := LoadSpec(root)
	if err != nil {
		return []string{err.Error()}
	}
	if len(spec.Secrets) == 0 {
		return nil
	}
	rep, err := LoadStatus(root)
	if err != nil {
		return []string{err.Error()}
	}
	if rep == nil {
		return []string{fmt.Sprintf("the %s service did not run: no secret is in place", ServiceName)}
	}
	var problems []string
	for _, e := range spec.Secrets {
		i := slices.IndexFunc(rep.Secrets, func(r Result) bool { return r.Name == e.Name })
		switch {
		case i < 0:
			problems = append(problems, fmt.Sprintf("secret %s: not activated", e.Name))
		case rep.Secrets[i].State == StateFailed:
			problems = append(problems, fmt.Sprintf("secret %s: %s", e.Name, rep.Secrets[i].Error))
		default:
			if _, err := os.Lstat(filepath.Join(root, e.Path)); err != nil {
				problems = append(problems, fmt.Sprintf("secret %s: %s is missing", e.Name, e.Path))
			}
		}
	}
	return problems
}
