package ramboot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// The layout of the boot media (a file system the node's loader reads
// and, on the node, cairn-init mounts as its persistence device at
// /run/cairn/persist):
//
//	extlinux/ldlinux.sys      extlinux --install; its ADV holds the boot-once
//	extlinux/extlinux.conf    entries regular, old and new (written by cairn)
//	cairn/ram/state.json      which image is which, how the last trial ended
//	cairn/ram/images/NAME/    vmlinuz, the initramfs, cmdline (cairn image --format initramfs)
const (
	LoaderDir    = "extlinux"
	stateFile    = "cairn/ram/state.json"
	imagesDir    = "cairn/ram/images"
	DefaultDir   = "/run/cairn/persist"
	EntryNew     = "new"
	EntryOld     = "old"
	EntryRegular = "regular"
)

// State is cairn/ram/state.json.
type State struct {
	// Regular is the image extlinux boots by default, Old the one it
	// replaced, Trial the image on trial (booted once by the ADV's
	// boot-once), "" when there is none.
	Regular string `json:"regular"`
	Old     string `json:"old,omitempty"`
	Trial   string `json:"trial,omitempty"`
	// LastTrial says how the last trial ended.
	LastTrial *TrialEnd `json:"lastTrial,omitempty"`
}

// TrialEnd is how a trial ended.
type TrialEnd struct {
	Image     string `json:"image"`
	Confirmed bool   `json:"confirmed"`
	// How says what happened, for people.
	How string `json:"how"`
}

// Booted is which image and entry the running system came from: the
// cairn.ram.image= and cairn.ram.entry= of its kernel command line,
// which the entries cairn writes carry.
type Booted struct {
	Image string `json:"image"`
	Entry string `json:"entry"`
}

// ParseCmdline finds Booted in a kernel command line; Image is "" when
// the system was not booted from an entry cairn wrote.
func ParseCmdline(cmdline string) Booted {
	var b Booted
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, "cairn.ram.image="); ok {
			b.Image = v
		}
		if v, ok := strings.CutPrefix(f, "cairn.ram.entry="); ok {
			b.Entry = v
		}
	}
	return b
}

// Media is a boot medium mounted at Dir.
type Media struct {
	Dir string
	// Warn, if set, is told of what cairn repaired on the media.
	Warn func(string)
}

func (m Media) path(rel string) string { return filepath.Join(m.Dir, rel) }

// ReadState reads the media's state; a medium cairn never wrote is an
// error that says how to set one up.
func (m Media) ReadState() (State, error) {
	b, err := os.ReadFile(m.path(stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return State{}, fmt.Errorf("%s holds no RAM images of cairn (%s is missing): cairn ram install --media %s IMAGE sets it up", m.Dir, stateFile, m.Dir)
	}
	if err != nil {
		return State{}, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("%s: %w", m.path(stateFile), err)
	}
	return s, nil
}

// commit writes the loader configuration, then the state, each
// replaced atomically, then prunes images nothing refers to.
func (m Media) commit(s State) error {
	if err := m.writeConf(s); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(m.path(stateFile), append(b, '\n')); err != nil {
		return err
	}
	return m.prune(s)
}

// image is one image directory's files.
type image struct {
	kernel, initrd, cmdline string
}

// readImage checks an image directory (cairn image --format initramfs).
func readImage(dir string) (image, error) {
	var im image
	cmd, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return im, fmt.Errorf("RAM image %s: %w (make one with cairn image --format initramfs -o DIR)", dir, err)
	}
	im.cmdline = strings.TrimSpace(string(cmd))
	if _, err := os.Stat(filepath.Join(dir, "vmlinuz")); err != nil {
		return im, fmt.Errorf("RAM image %s: %w", dir, err)
	}
	im.kernel = "vmlinuz"
	for _, n := range []string{"initramfs.gz", "initramfs.zst", "initramfs.cpio"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			im.initrd = n
			break
		}
	}
	if im.initrd == "" {
		return im, fmt.Errorf("RAM image %s has no initramfs.gz, .zst or .cpio", dir)
	}
	return im, nil
}

// add copies an image directory onto the media under a name made of
// its contents' hash, and returns the name.
func (m Media) add(dir string) (string, error) {
	im, err := readImage(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, n := range []string{im.kernel, im.initrd} {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("RAM image %s: %w", dir, err)
		}
	}
	h.Write([]byte(im.cmdline))
	name := hex.EncodeToString(h.Sum(nil))[:12]
	dst := m.path(filepath.Join(imagesDir, name))
	if _, err := os.Stat(dst); err == nil {
		return name, nil
	}
	tmp := dst + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", err
	}
	for _, n := range []string{im.kernel, im.initrd, "cmdline"} {
		if err := rootfs.CopyToNew(filepath.Join(dir, n), filepath.Join(tmp, n), true); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("copying RAM image %s onto %s: %w", dir, m.Dir, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return name, syncDir(filepath.Dir(dst))
}

// Install makes the image in dir the regular one (the one it replaces
// becomes old), with no trial: for preparing a medium.
func (m Media) Install(dir string) (string, error) {
	if err := os.MkdirAll(m.path(imagesDir), 0o700); err != nil {
		return "", err
	}
	var s State
	if _, err := os.Stat(m.path(stateFile)); err == nil {
		if s, err = m.ReadState(); err != nil {
			return "", err
		}
	}
	if err := m.clearOnce(); err != nil {
		return "", err
	}
	name, err := m.add(dir)
	if err != nil {
		return "", err
	}
	if s.Regular != name {
		s.Old, s.Regular = s.Regular, name
	}
	s.Trial = ""
	return name, m.commit(s)
}

// Try puts the image in dir on the media and boots it once at the next
// boot: the ADV's boot-once names the entry new. Not confirmed, the boot
// after that is the regular image again.
func (m Media) Try(dir string) (string, error) {
	s, err := m.ReadState()
	if err != nil {
		return "", err
	}
	s.Trial = ""
	if err := m.prune(s); err != nil { // room for the new image
		return "", err
	}
	name, err := m.add(dir)
	if err != nil {
		return "", err
	}
	if name == s.Regular {
		return "", fmt.Errorf("image %s is the regular image already", name)
	}
	s.Trial = name
	if err := m.commit(s); err != nil {
		return "", err
	}
	// Last: the boot-once is what makes the next boot a trial.
	a, err := ReadADVFile(m.path(LoaderDir + "/ldlinux.sys"))
	if err != nil {
		return "", err
	}
	if err := a.Set(TagBootOnce, EntryNew); err != nil {
		return "", err
	}
	return name, WriteADVFile(m.path(LoaderDir+"/ldlinux.sys"), a)
}

// clearOnce deletes a boot-once from the ADV, if there is one.
func (m Media) clearOnce() error {
	p := m.path(LoaderDir + "/ldlinux.sys")
	a, err := ReadADVFile(p)
	if err != nil {
		return err
	}
	if _, ok := a.Get(TagBootOnce); !ok {
		return nil
	}
	a.Set(TagBootOnce, "")
	return WriteADVFile(p, a)
}

// Settle records how a trial ended when the system booted is not the
// trial: the loader consumed the boot-once and the image was not
// confirmed, so this boot is the fallback. It returns the state, changed
// or not. cairn confirm --boot runs it at every boot.
func (m Media) Settle(b Booted) (State, error) {
	s, err := m.ReadState()
	if err != nil || s.Trial == "" {
		return s, err
	}
	a, err := ReadADVFile(m.path(LoaderDir + "/ldlinux.sys"))
	if err != nil {
		return s, err
	}
	if b.Entry == EntryNew && b.Image == s.Trial {
		// The trial runs. syslinux deleted the boot-once before booting
		// it; should it have failed to write the ADV back, the trial
		// would boot again and again: delete it here too.
		if _, ok := a.Get(TagBootOnce); ok {
			if m.Warn != nil {
				m.Warn(fmt.Sprintf("the loader booted trial image %s but left its boot-once in %s; cairn deleted it", s.Trial, m.path(LoaderDir+"/ldlinux.sys")))
			}
			a.Set(TagBootOnce, "")
			return s, WriteADVFile(m.path(LoaderDir+"/ldlinux.sys"), a)
		}
		return s, nil
	}
	if v, ok := a.Get(TagBootOnce); ok && v == EntryNew {
		// Not booted yet (this boot came from elsewhere, or the boot
		// once was set while running): the trial is still ahead.
		return s, nil
	}
	s.LastTrial = &TrialEnd{Image: s.Trial, How: fmt.Sprintf("image %s was tried and not confirmed; the next boot was the regular image %s", s.Trial, s.Regular)}
	s.Trial = ""
	return s, m.commit(s)
}

// Confirm makes the booted trial image the regular one and the previous
// regular one old. Booted from anything else, it confirms nothing and
// says so.
func (m Media) Confirm(b Booted) (string, error) {
	s, err := m.Settle(b)
	if err != nil {
		return "", err
	}
	if s.Trial == "" || b.Entry != EntryNew || b.Image != s.Trial {
		return fmt.Sprintf("image %s (%s) runs; no trial to confirm", b.Image, b.Entry), nil
	}
	s.Old, s.Regular, s.Trial = s.Regular, s.Trial, ""
	s.LastTrial = &TrialEnd{Image: s.Regular, Confirmed: true, How: fmt.Sprintf("image %s was confirmed: it is the regular image, %s the old one", s.Regular, s.Old)}
	if err := m.commit(s); err != nil {
		return "", err
	}
	return s.LastTrial.How, nil
}

// Rollback makes the old image regular again (and the regular one old),
// cancelling a trial that has not booted yet.
func (m Media) Rollback() (State, error) {
	s, err := m.ReadState()
	if err != nil {
		return s, err
	}
	if s.Old == "" {
		return s, fmt.Errorf("%s holds no old image to roll back to (regular: %s)", m.Dir, s.Regular)
	}
	if err := m.clearOnce(); err != nil {
		return s, err
	}
	if s.Trial != "" {
		s.LastTrial = &TrialEnd{Image: s.Trial, How: fmt.Sprintf("the trial of image %s was cancelled by a rollback", s.Trial)}
		s.Trial = ""
	}
	s.Old, s.Regular = s.Regular, s.Old
	return s, m.commit(s)
}

// Status is what cairn status says on a RAM node.
type Status struct {
	Booted    Booted    `json:"booted"`
	Regular   string    `json:"regular"`
	Old       string    `json:"old,omitempty"`
	Trial     string    `json:"trial,omitempty"`
	NextBoot  string    `json:"nextBoot"`
	LastTrial *TrialEnd `json:"lastTrial,omitempty"`
}

// Status reads the state and the ADV.
func (m Media) Status(b Booted) (Status, error) {
	s, err := m.ReadState()
	if err != nil {
		return Status{}, err
	}
	st := Status{Booted: b, Regular: s.Regular, Old: s.Old, Trial: s.Trial, NextBoot: s.Regular, LastTrial: s.LastTrial}
	a, err := ReadADVFile(m.path(LoaderDir + "/ldlinux.sys"))
	if err != nil {
		return st, err
	}
	if v, ok := a.Get(TagBootOnce); ok && v == EntryNew && s.Trial != "" {
		st.NextBoot = s.Trial
	}
	return st, nil
}

// writeConf writes extlinux.conf: regular the default, old and new
// beside it for a person at the prompt and for the boot-once.
func (m Media) writeConf(s State) error {
	var entries strings.Builder
	serial := false
	for _, e := range []struct{ label, name string }{{EntryRegular, s.Regular}, {EntryOld, s.Old}, {EntryNew, s.Trial}} {
		if e.name == "" {
			continue
		}
		im, err := readImage(m.path(filepath.Join(imagesDir, e.name)))
		if err != nil {
			return err
		}
		serial = serial || strings.Contains(im.cmdline, "console=ttyS0")
		fmt.Fprintf(&entries, "\nLABEL %s\n  LINUX /%s/%s/%s\n  INITRD /%s/%s/%s\n  APPEND %s cairn.ram.image=%s cairn.ram.entry=%s\n",
			e.label, imagesDir, e.name, im.kernel, imagesDir, e.name, im.initrd, im.cmdline, e.name, e.label)
	}
	var b strings.Builder
	b.WriteString("# Written by cairn (cairn ram): the RAM images on this medium.\n")
	b.WriteString("# regular boots by default; new is booted once for a trial (the ADV's boot-once).\n")
	if serial {
		b.WriteString("SERIAL 0 115200\n")
	}
	b.WriteString("DEFAULT regular\nPROMPT 0\n")
	b.WriteString(entries.String())
	return writeAtomic(m.path(LoaderDir+"/extlinux.conf"), []byte(b.String()))
}

// prune deletes the images the state does not name.
func (m Media) prune(s State) error {
	ents, err := os.ReadDir(m.path(imagesDir))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if n := e.Name(); n != s.Regular && n != s.Old && n != s.Trial {
			if err := os.RemoveAll(m.path(filepath.Join(imagesDir, n))); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeAtomic replaces path with data: written beside it, synced,
// renamed, the directory synced.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return rootfs.WriteFileAt(path, data, rootfs.WriteOptions{Perm: 0o644, Sync: true, SyncDir: true, Temp: filepath.Base(path) + ".tmp"})
}

func syncDir(dir string) error { return rootfs.SyncDir(dir) }
