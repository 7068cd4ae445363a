package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

// Explanation says where the bytes of an initramfs image go, before
// compression: in RAM, the system takes what the archive holds. It is
// what `cairn image --explain` prints (WriteText).
type Explanation struct {
	// Files and Bytes count the regular files the archive holds (each
	// name of a hard-linked file counts: the archive stores copies) and
	// their content.
	Files int
	Bytes int64
	// Packages are the installed packages (lib/apk/db/installed), the
	// bytes of their files in the archive, largest first.
	Packages []PackageBytes
	// Unowned are the files no package installed: cairn's, the
	// manifest's, what setup scripts made.
	Unowned PackageBytes
	// Largest are the largest files, largest first.
	Largest []FileBytes
	// Added are the files the image adds to the generation: cairn-init's
	// module list and plain copies of compressed modules.
	Added []FileBytes
	// LeftOut are the generation's kernel images, not in the archive.
	LeftOut []FileBytes
	// Kernel is the kernel image beside the archive.
	Kernel FileBytes
	// Modules are the modules cairn-init loads, in order; Builtin and
	// Missing the wanted ones the kernel has built in or lacks.
	Modules, Builtin, Missing []string
	// NoPackageDB says the generation has no apk database: every file
	// counts as unowned.
	NoPackageDB bool
}

// PackageBytes is what one package puts in the image.
type PackageBytes struct {
	Name, Version string
	// InstalledSize is what apk's database says the package installs.
	InstalledSize int64
	// Bytes and Files are what of it the archive holds.
	Bytes int64
	Files int
}

// FileBytes is one file of the image.
type FileBytes struct {
	Path  string
	Bytes int64
	// Package installed the file ("" for none).
	Package string
}

// installedDB is where apk records the installed packages.
const installedDB = "lib/apk/db/installed"

// Explain says where the bytes of the image of src go, listing the top
// largest files (10 when top is 0). It reads the tree as Write would,
// without writing anything.
func (f Initramfs) Explain(ctx context.Context, src Source, top int) (Explanation, error) {
	var ex Explanation
	if err := src.check(); err != nil {
		return ex, err
	}
	if top <= 0 {
		top = 10
	}
	p, err := f.plan(src)
	if err != nil {
		return ex, fmt.Errorf("initramfs image: %w", err)
	}
	owner := map[string]*PackageBytes{}
	data, err := os.ReadFile(filepath.Join(src.Root, filepath.FromSlash(installedDB)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ex.NoPackageDB = true
	case err != nil:
		return ex, err
	default:
		pkgs, err := apk.ParseInstalledDB(string(data))
		if err != nil {
			return ex, fmt.Errorf("/%s: %w", installedDB, err)
		}
		ex.Packages = make([]PackageBytes, len(pkgs))
		for i, pkg := range pkgs {
			ex.Packages[i] = PackageBytes{Name: pkg.Name, Version: pkg.Version, InstalledSize: pkg.InstalledSize}
			for _, d := range pkg.Dirs {
				for _, file := range d.Files {
					owner[path.Join(d.Path, file.Name)] = &ex.Packages[i]
				}
			}
		}
	}
	ex.Unowned.Name = "(no package)"

	sizes := map[string]int64{}
	var files []FileBytes
	err = Walk(ctx, src.Root, src.Epoch, func(e *Entry) error {
		size := e.Size
		switch {
		case p.leaveOut[e.Path]:
			if e.Kind == Regular {
				ex.LeftOut = append(ex.LeftOut, FileBytes{Path: e.Path, Bytes: e.Size, Package: ownerName(owner, e.Path)})
			}
			return nil
		case e.Kind == Regular:
			sizes[e.Path] = size
		case e.Kind == HardLink:
			var ok bool
			if size, ok = sizes[e.Link]; !ok {
				return nil // a later name of a device or fifo
			}
		default:
			return nil
		}
		pb := owner[e.Path]
		if pb == nil {
			pb = &ex.Unowned
		}
		pb.Bytes += size
		pb.Files++
		ex.Files++
		ex.Bytes += size
		files = append(files, FileBytes{Path: e.Path, Bytes: size, Package: ownerName(owner, e.Path)})
		return nil
	})
	if err != nil {
		return ex, err
	}
	for name, data := range p.added {
		ex.Added = append(ex.Added, FileBytes{Path: name, Bytes: int64(len(data))})
		ex.Files++
		ex.Bytes += int64(len(data))
	}
	sort.Slice(ex.Added, func(i, j int) bool { return ex.Added[i].Path < ex.Added[j].Path })
	sort.SliceStable(ex.Packages, func(i, j int) bool {
		if ex.Packages[i].Bytes != ex.Packages[j].Bytes {
			return ex.Packages[i].Bytes > ex.Packages[j].Bytes
		}
		return ex.Packages[i].Name < ex.Packages[j].Name
	})
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].Bytes != files[j].Bytes {
			return files[i].Bytes > files[j].Bytes
		}
		return files[i].Path < files[j].Path
	})
	ex.Largest = files[:min(top, len(files))]
	if fi, err := os.Stat(p.kernel); err == nil {
		ex.Kernel = FileBytes{Path: p.kernel, Bytes: fi.Size()}
	}
	ex.Modules, ex.Builtin, ex.Missing = p.modules.Names(), p.modules.Builtin, p.modules.Missing
	return ex, nil
}

func ownerName(owner map[string]*PackageBytes, p string) string {
	if pb := owner[p]; pb != nil {
		return pb.Name
	}
	return ""
}

// WriteText prints the explanation for people: totals, the top largest
// packages and the largest files (top 10 when 0).
func (ex Explanation) WriteText(w io.Writer, top int) error {
	if top <= 0 {
		top = 10
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The archive holds %d files, %s before compression; the system takes that much RAM.\n", ex.Files, megabytes(ex.Bytes))
	if ex.Kernel.Path != "" {
		fmt.Fprintf(&b, "The kernel (%s) is beside it: %s.\n", filepath.Base(ex.Kernel.Path), megabytes(ex.Kernel.Bytes))
	}
	for _, l := range ex.LeftOut {
		fmt.Fprintf(&b, "Left out: /%s (%s), a kernel image the loader loads, not the system.\n", l.Path, megabytes(l.Bytes))
	}
	if ex.NoPackageDB {
		fmt.Fprintf(&b, "\nThe generation has no /%s: no file is attributed to a package.\n", installedDB)
	}
	if len(ex.Packages) > 0 {
		fmt.Fprintf(&b, "\nLargest packages (of %d):\n", len(ex.Packages))
		rows := [][]string{{"package", "in the image", "files", "installed size"}}
		var rest PackageBytes
		for i, pb := range ex.Packages {
			if i >= top {
				rest.Bytes += pb.Bytes
				rest.Files += pb.Files
				rest.Name = fmt.Sprintf("%d more", i+1-top)
				continue
			}
			rows = append(rows, []string{pb.Name + " " + pb.Version, megabytes(pb.Bytes), fmt.Sprint(pb.Files), megabytes(pb.InstalledSize)})
		}
		if rest.Name != "" {
			rows = append(rows, []string{rest.Name, megabytes(rest.Bytes), fmt.Sprint(rest.Files), ""})
		}
		rows = append(rows, []string{ex.Unowned.Name, megabytes(ex.Unowned.Bytes), fmt.Sprint(ex.Unowned.Files), ""})
		table(&b, rows)
	}
	if len(ex.Largest) > 0 {
		b.WriteString("\nLargest files:\n")
		rows := [][]string{{"file", "size", "package"}}
		for _, f := range ex.Largest {
			rows = append(rows, []string{"/" + f.Path, megabytes(f.Bytes), f.Package})
		}
		table(&b, rows)
	}
	if len(ex.Added) > 0 {
		var n int64
		for _, f := range ex.Added {
			n += f.Bytes
		}
		fmt.Fprintf(&b, "\nAdded by the image: %s, %s (cairn-init's module list and plain copies of compressed modules).\n", plural(len(ex.Added), "file"), megabytes(n))
	}
	if len(ex.Modules) > 0 {
		fmt.Fprintf(&b, "Modules cairn-init loads: %s.\n", strings.Join(ex.Modules, " "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes rows with aligned columns: the first left-aligned, the
// others right-aligned but the last.
func table(b *strings.Builder, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		line.WriteString(" ")
		for i, c := range r {
			switch {
			case i == 0 || i == len(r)-1:
				fmt.Fprintf(&line, " %-*s", widths[i], c)
			default:
				fmt.Fprintf(&line, " %*s", widths[i], c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

// megabytes formats a size in MB (10^6 bytes) as docs/benchmarks.md
// does, small ones in kB or bytes.
func megabytes(n int64) string {
	switch {
	case n >= 10e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	case n >= 1e5:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
