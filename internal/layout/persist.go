package layout

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// The persist list (PersistList) names the directories of a generation
// that live on persistent storage instead of in the generation: one
// absolute path a line, '#' starting a comment. The build writes it from
// the manifest's persist list (RenderPersist); cairn-init mounts each
// from its persistent home (ParsePersist, PersistPath), and images seed
// those homes. Which directories may persist is one rule (CheckPersist),
// which cairn validate applies to the manifest and cairn-init to the
// list: what validate accepts, cairn-init mounts.

// RenderPersist is the persist list naming paths, which must pass
// CheckPersist.
func RenderPersist(paths []string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# Directories kept outside the generation (manifest: persist).\n")
	for _, p := range paths {
		if r := CheckPersist(p); r != nil {
			return nil, fmt.Errorf("persist: %w", r)
		}
		b.WriteString(p + "\n")
	}
	return []byte(b.String()), nil
}

// ParsePersist reads a persist list. Paths that cannot persist
// (CheckPersist) are returned as problems, naming the line, and left out;
// the rest come sorted, so a parent is mounted before what lies under it.
func ParsePersist(r io.Reader) (paths, problems []string, err error) {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		if r := CheckPersist(text); r != nil {
			problems = append(problems, fmt.Sprintf("%s line %d: %s: %s", PersistList, line, text, r.Reason()))
			continue
		}
		paths = append(paths, text)
	}
	slices.Sort(paths)
	return slices.Compact(paths), problems, sc.Err()
}

// Why a directory cannot persist (PersistRefusal.Kind).
const (
	// NotAbsolute: the path does not start with /, or holds a line break
	// or NUL.
	NotAbsolute = iota + 1
	// NotClean: the path has //, /./, /../ or a trailing /.
	NotClean
	// OfGeneration: the directory is the generation's own (/, /usr,
	// /etc...): persisting it would hide the system cairn built.
	OfGeneration
	// OnKernelFS: the directory is on a file system of the kernel's
	// (/proc, /sys, /dev) or /run: never stored.
	OnKernelFS
	// OnBootTmpfs: the directory is on a tmpfs cairn-init mounts empty at
	// every boot (/tmp).
	OnBootTmpfs
)

// PersistRefusal says why a directory cannot persist.
type PersistRefusal struct {
	Path string
	Kind int
	// Under is the directory that decides: the file system (/proc,
	// /tmp) or the generation's directory (/usr).
	Under string
	// Why says what Under is.
	Why string
}

// Reason is why the directory cannot persist, without the path.
func (r *PersistRefusal) Reason() string {
	switch r.Kind {
	case NotAbsolute:
		return "not an absolute path"
	case NotClean:
		return "not a clean path (no //, /./, /../ or trailing /)"
	case OnKernelFS:
		return fmt.Sprintf("on a kernel file system (%s), which is never stored", r.Under)
	case OnBootTmpfs:
		return fmt.Sprintf("%s is %s", r.Under, r.Why)
	}
	return r.Why
}

func (r *PersistRefusal) Error() string {
	return fmt.Sprintf("%s cannot be persisted: %s", r.Path, r.Reason())
}

// generationDirs are the directories that are the generation itself, and
// what they hold.
var generationDirs = map[string]string{
	"/":     "the root is the generation itself",
	"/bin":  "it holds the generation's programs",
	"/sbin": "it holds the generation's programs",
	"/lib":  "it holds the generation's libraries",
	"/usr":  "it holds the generation's programs and libraries",
	"/etc":  "it holds the generation's configuration (persist single directories like /etc/ssh instead)",
	"/boot": "cairn manages the kernels and boot entries there",
}

// kernelFS are the file systems the kernel fills, and /run: nothing on
// them is ever stored.
var kernelFS = []string{"/proc", "/sys", "/dev", "/run"}

// Tmpfs is a file system cairn-init mounts afresh, empty, at every boot.
type Tmpfs struct {
	Dir string
	// What says what it is, for messages.
	What string
}

// BootTmpfs are the file systems cairn-init mounts afresh at every boot
// (docs/boot.md), sorted by directory.
func BootTmpfs() []Tmpfs {
	return []Tmpfs{
		{"/run", "a tmpfs cairn-init mounts at every boot (it holds /run/cairn)"},
		{"/tmp", "a tmpfs cairn-init mounts empty at every boot"},
	}
}

// CheckPersist reports why the directory p cannot persist, nil when it
// can.
func CheckPersist(p string) *PersistRefusal {
	refuse := func(kind int, under, why string) *PersistRefusal {
		return &PersistRefusal{Path: p, Kind: kind, Under: under, Why: why}
	}
	switch {
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\n\r\x00"):
		return refuse(NotAbsolute, "", "")
	case path.Clean(p) != p:
		return refuse(NotClean, "", "")
	}
	if why, ok := generationDirs[p]; ok {
		return refuse(OfGeneration, p, why)
	}
	for _, d := range kernelFS {
		if p == d || strings.HasPrefix(p, d+"/") {
			return refuse(OnKernelFS, d, "")
		}
	}
	for _, t := range BootTmpfs() {
		if p == t.Dir || strings.HasPrefix(p, t.Dir+"/") {
			return refuse(OnBootTmpfs, t.Dir, t.What)
		}
	}
	return nil
}

// EscapePath names the persistent directory of a path, as
// `systemd-escape --path` does: the slashes between components become
// '-', and every byte but ASCII letters, digits, ':', '_' and '.' (and a
// leading '.') becomes \xNN. /var/lib/nomad is var-lib-nomad,
// /srv/my-data is srv-my\x2ddata: distinct paths give distinct names.
func EscapePath(p string) string {
	p = strings.Trim(p, "/")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '.' && i == 0:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ':', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// PersistPath returns where the directory p persists in the store whose
// top directory is top: @cairn/persist/<EscapePath(p)>.
func PersistPath(top, p string) string {
	return filepath.Join(StorePath(top, PersistDir), EscapePath(p))
}
