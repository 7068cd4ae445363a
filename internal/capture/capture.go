// Package capture turns files changed by hand on a node into manifest
// entries (lbu's job, declaratively): a file the manifest declares inline
// gets its new content there, any other goes into the skeleton directory
// when the manifest has one, else becomes a new inline entry. The
// manifest's YAML is edited in place (comments and key order kept).
package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// Request says what to capture.
type Request struct {
	// Manifest is the top manifest file (its files: key is edited).
	Manifest string
	// Root is the system the files are read from ("/").
	Root string
	// Paths are absolute paths of files in Root.
	Paths []string
	// Inline asks for inline entries even when there is a skeleton.
	Inline bool
}

// Written is one thing Capture wrote.
type Written struct {
	Path string `json:"path"`
	// Where: "files.inline[N]" (updated or added) or the skeleton file
	// written, relative to the manifest's directory.
	Where  string `json:"where"`
	Action string `json:"action"` // "updated", "added", "written"
}

func (w Written) String() string {
	return fmt.Sprintf("%s: %s %s", w.Path, w.Action, w.Where)
}

// Capture writes each of r.Paths into the manifest and returns what it
// wrote. Nothing is written unless every path can be captured.
func Capture(r Request) ([]Written, error) {
	data, err := os.ReadFile(r.Manifest)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Manifest, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a manifest (a YAML mapping)", r.Manifest)
	}
	top := doc.Content[0]
	files := mapValue(top, "files")
	skeleton := ""
	if files != nil {
		if sk := mapValue(files, "skeleton"); sk != nil && sk.Value != "" {
			skeleton = sk.Value
		}
	}
	dir := filepath.Dir(r.Manifest)
	type skelFile struct{ src, dst string }
	var copies []skelFile
	var out []Written
	for _, p := range r.Paths {
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
			return nil, fmt.Errorf("%s: give the absolute path of a file, like /var/lib/app/app.conf", p)
		}
		live := filepath.Join(r.Root, p)
		fi, err := os.Lstat(live)
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", p, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("capture %s: not a regular file (a %s): capture the files in it one by one", p, fi.Mode().Type())
		}
		content, err := os.ReadFile(live)
		if err != nil {
			return nil, err
		}
		mode := fmt.Sprintf("%04o", fi.Mode().Perm())
		owner, err := ownerOf(r.Root, fi)
		if err != nil {
			return nil, err
		}
		text := utf8.Valid(content) && !bytes.ContainsRune(content, 0)
		// A file declared inline stays inline.
		if files != nil {
			if i, entry := findInline(files, p); entry != nil {
				if !text {
					return nil, fmt.Errorf("capture %s: files.inline[%d] declares it, and it is no longer text: move it to the skeleton", p, i)
				}
				setInline(entry, string(content), mode, owner)
				out = append(out, Written{Path: p, Where: fmt.Sprintf("files.inline[%d]", i), Action: "updated"})
				continue
			}
		}
		if skeleton != "" && !r.Inline && owner == "" {
			skelDir, err := manifest.ResolveLocal(dir, skeleton)
			if err != nil {
				return nil, fmt.Errorf("files.skeleton: %w", err)
			}
			copies = append(copies, skelFile{live, filepath.Join(skelDir, p)})
			rel := filepath.ToSlash(filepath.Join(skeleton, p))
			out = append(out, Written{Path: p, Where: rel, Action: "written"})
			continue
		}
		if !text {
			return nil, fmt.Errorf("capture %s: not text, so it cannot be an inline entry: give the manifest a files.skeleton directory", p)
		}
		if files == nil {
			files = &yaml.Node{Kind: yaml.MappingNode}
			top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "files"}, files)
		}
		inline := mapValue(files, "inline")
		if inline == nil {
			inline = &yaml.Node{Kind: yaml.SequenceNode}
			files.Content = append(files.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "inline"}, inline)
		}
		entry := &yaml.Node{Kind: yaml.MappingNode}
		entry.Content = append(entry.Content, scalar("path"), scalar(p))
		setInline(entry, string(content), mode, owner)
		inline.Content = append(inline.Content, entry)
		out = append(out, Written{Path: p, Where: fmt.Sprintf("files.inline[%d]", len(inline.Content)-1), Action: "added"})
	}
	for _, c := range copies {
		if err := os.MkdirAll(filepath.Dir(c.dst), 0o755); err != nil {
			return nil, err
		}
		if err := copyFile(c.src, c.dst); err != nil {
			return nil, fmt.Errorf("write %s: %w", c.dst, err)
		}
	}
	if len(copies) < len(out) {
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		tmp := r.Manifest + ".tmp"
		if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, r.Manifest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// mapValue returns the value of key in the mapping m, nil when absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setValue sets key in the mapping m to a scalar.
func setValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func findInline(files *yaml.Node, p string) (int, *yaml.Node) {
	inline := mapValue(files, "inline")
	if inline == nil || inline.Kind != yaml.SequenceNode {
		return -1, nil
	}
	for i, e := range inline.Content {
		if v := mapValue(e, "path"); v != nil && path.Clean(v.Value) == p {
			return i, e
		}
	}
	return -1, nil
}

// setInline gives an inline entry its content (a literal block when it
// has several lines), mode (left out at the default 0644) and owner
// ("" for root:root).
func setInline(entry *yaml.Node, content, mode, owner string) {
	c := scalar(content)
	if strings.Contains(content, "\n") && strings.HasSuffix(content, "\n") && !strings.ContainsAny(content, "\r\t") && noTrailingSpace(content) {
		c.Style = yaml.LiteralStyle
	} else {
		c.Style = yaml.DoubleQuotedStyle
	}
	setValue(entry, "content", c)
	if mode == "0644" {
		deleteKey(entry, "mode")
	} else {
		m := scalar(mode)
		m.Style = yaml.DoubleQuotedStyle
		setValue(entry, "mode", m)
	}
	if owner == "" {
		deleteKey(entry, "owner")
	} else {
		setValue(entry, "owner", scalar(owner))
	}
}

func noTrailingSpace(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimRight(l, " ") != l {
			return false
		}
	}
	return true
}

// ownerOf names the file's owner as user:group from the system's
// account files, "" for root:root.
func ownerOf(root string, fi fs.FileInfo) (string, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || (st.Uid == 0 && st.Gid == 0) {
		return "", nil
	}
	user, err := nameOf(filepath.Join(root, "etc", "passwd"), st.Uid)
	if err != nil {
		return "", err
	}
	group, err := nameOf(filepath.Join(root, "etc", "group"), st.Gid)
	if err != nil {
		return "", err
	}
	return user + ":" + group, nil
}

// nameOf finds id's name in a colon file (passwd, group); the number
// when it has none.
func nameOf(file string, id uint32) (string, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return strconv.Itoa(int(id)), nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > 2 && fields[2] == strconv.Itoa(int(id)) {
			return fields[0], nil
		}
	}
	return strconv.Itoa(int(id)), sc.Err()
}

func copyFile(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, fi.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Chmod(tmp, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
