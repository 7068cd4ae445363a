package install

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

// The files of apk's database, relative to the root.
const (
	dbDir            = "lib/apk/db"
	installedFile    = "installed"
	scriptsFile      = "scripts.tar"
	triggersFile     = "triggers"
	lockFile         = "lock"
	etcApkDir        = "etc/apk"
	worldFile        = "world"
	archFile         = "arch"
	reposFile        = "repositories"
	keysDir          = "etc/apk/keys"
	scriptExecDir    = "lib/apk/exec"
	protectedListDir = "etc/apk/protected_paths.d"
)

// scriptTypes are apk's script types in its own order (apk_script_types),
// which is the order scripts.tar lists a package's scripts in.
var scriptTypes = []string{"pre-install", "post-install", "pre-deinstall", "post-deinstall", "pre-upgrade", "post-upgrade", "trigger"}

// scriptsEntry is one package's part of scripts.tar.
type scriptsEntry struct {
	Pkg     *apk.Package
	Scripts map[string][]byte
}

// formatScriptsTar renders lib/apk/db/scripts.tar byte for byte as apk
// 2.14 writes it (apk_db_scriptdb_write, apk_tar_write_entry): one ustar
// entry per script named "<name>-<version>.<Q1 identity>.<type>", mode
// 0755, owner root, mtime the package's build time, then the two zero
// blocks that end an archive.
func formatScriptsTar(entries []scriptsEntry, mtime int64) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		for _, typ := range scriptTypes {
			data, ok := e.Scripts[typ]
			if !ok {
				continue
			}
			name := fmt.Sprintf("%s-%s.%s.%s", e.Pkg.Name, e.Pkg.Version, e.Pkg.Checksum, typ)
			t := mtime
			if t == 0 {
				t = e.Pkg.BuildTime
			}
			hdr := apkTarHeader(name, int64(len(data)), 0o755, t)
			b.Write(hdr[:])
			b.Write(data)
			if pad := len(data) % 512; pad != 0 {
				b.Write(make([]byte, 512-pad))
			}
		}
	}
	b.Write(make([]byte, 1024))
	return b.Bytes()
}

// apkTarHeader is apk_tar_write_entry's header for a regular file.
func apkTarHeader(name string, size int64, mode uint32, mtime int64) [512]byte {
	var h [512]byte
	copy(h[0:99], name) // strlcpy into 100 bytes
	putOctal(h[100:108], int64(mode&0o7777), true)
	putOctal(h[108:116], 0, true)
	putOctal(h[116:124], 0, true)
	putOctal(h[124:136], size, false)
	putOctal(h[136:148], mtime, false)
	h[156] = '0'
	copy(h[257:265], "ustar  \x00")
	copy(h[265:297], "root")
	copy(h[297:329], "root")
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	putOctal(h[148:155], int64(sum), true)
	return h
}

// putOctal is apk's put_octal: right-aligned, zero-padded octal digits,
// the last byte a NUL when hasZero.
func putOctal(s []byte, v int64, hasZero bool) {
	i := len(s) - 1
	if hasZero {
		s[i] = 0
		i--
	}
	for ; v != 0 && i >= 0; i-- {
		s[i] = byte('0' + v%8)
		v /= 8
	}
	for ; i >= 0; i-- {
		s[i] = '0'
	}
}

// parseScriptsTar reads lib/apk/db/scripts.tar into scripts by package
// identity ("Q1..."). Entries it cannot name are skipped, as apk skips
// them.
func parseScriptsTar(data []byte) (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", dbDir, scriptsFile, err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		// <name>-<version>.<checksum>.<type>; the checksum may hold '/'
		// but never '.', so split at the last two dots.
		dot := strings.LastIndexByte(h.Name, '.')
		if dot <= 0 {
			continue
		}
		typ := h.Name[dot+1:]
		csumDot := strings.LastIndexByte(h.Name[:dot], '.')
		if csumDot < 0 || !validScriptType(typ) {
			continue
		}
		csum := h.Name[csumDot+1 : dot]
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", dbDir, scriptsFile, err)
		}
		if out[csum] == nil {
			out[csum] = map[string][]byte{}
		}
		out[csum][typ] = body
	}
}

func validScriptType(t string) bool {
	for _, s := range scriptTypes {
		if s == t {
			return true
		}
	}
	return false
}

// triggersEntry is one line of lib/apk/db/triggers.
type triggersEntry struct {
	Checksum apk.Checksum
	Globs    []string
}

// formatTriggers renders lib/apk/db/triggers: "Q1<identity> /glob ..." per
// package with triggers.
func formatTriggers(entries []triggersEntry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.Checksum.String())
		for _, g := range e.Globs {
			b.WriteByte(' ')
			b.WriteString(g)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// parseTriggers reads lib/apk/db/triggers into globs by identity.
func parseTriggers(text string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		out[f[0]] = append(out[f[0]], f[1:]...)
	}
	return out
}

// formatWorld renders etc/apk/world: one dependency a line.
func formatWorld(deps []string) []byte {
	return []byte(strings.Join(deps, "\n") + "\n")
}

// formatLines renders one value a line (etc/apk/arch, repositories).
func formatLines(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
