package solver

import (
	"fmt"
	"io"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
)

// indentWriter wraps words at a screen width the way apk's
// apk_print_indented family does, so reports match apk byte for byte.
type indentWriter struct {
	w      io.Writer
	x      int
	indent int
	width  int
}

func (i *indentWriter) printf(format string, args ...any) int {
	n, _ := fmt.Fprintf(i.w, format, args...)
	return n
}

func (i *indentWriter) line(format string, args ...any) {
	i.printf(format, args...)
	i.x, i.indent = 0, 0
}

func (i *indentWriter) group(indent int, format string, args ...any) {
	i.x = i.printf(format, args...)
	if indent != 0 {
		i.indent = indent
	} else {
		i.indent = i.x + 1
	}
	if strings.HasSuffix(format, "\n") {
		i.x = 0
	}
}

func (i *indentWriter) end() {
	if i.x != 0 {
		i.printf("\n")
		i.x, i.indent = 0, 0
	}
}

func (i *indentWriter) word(s string) {
	switch {
	case i.x <= i.indent:
		i.x += i.printf("%*s%s", i.indent-i.x, "", s)
	case i.x+len(s)+1 >= i.width:
		i.x = i.printf("\n%*s%s", i.indent, "", s) - 1
	default:
		i.x += i.printf(" %s", s)
	}
}

func (i *indentWriter) words(text string) {
	for _, w := range strings.Split(text, " ") {
		i.word(w)
	}
}

// Output is where reports go, and how wide the screen is (apk uses 50
// columns when the output is not a terminal).
type Output struct {
	Stdout, Stderr io.Writer
	Width          int
}

func (o Output) width() int {
	if o.Width > 25 {
		return o.Width
	}
	return 50
}

// Report state bits, as apk's error reporter keeps them in name and
// package scratch state.
const (
	statePresent     = 0x80000000
	stateMissing     = 0x40000000
	stateVirtualOnly = 0x20000000
	stateInstallIf   = 0x10000000
	stateCountMask   = 0x0000ffff
)

type printState struct {
	db        *DB
	world     []Dep
	i         indentWriter
	label     string
	hasLabel  bool
	numLabels int
	match     uint32
}

func (ps *printState) labelStart(text string) {
	if ps.hasLabel {
		ps.i.line("  %s:\n", ps.label)
		ps.hasLabel = false
		ps.numLabels++
	}
	if ps.i.x == 0 {
		ps.i.group(0, "    %s", text)
	}
}

func (ps *printState) labelEnd() { ps.i.end() }

func (ps *printState) setLabel(s string) { ps.label, ps.hasLabel = s, true }

func (ps *printState) printPinningErrors(pkg *Pkg, tag int) {
	db := ps.db
	if pkg.Installed != nil {
		return
	}
	switch {
	case pkg.Repos&db.AvailableRepos == 0:
		ps.labelStart("masked in:")
		ps.i.word("--no-network")
	case pkg.Repos == 1<<RepoCached && !pkg.fromFile:
		ps.labelStart("masked in:")
		ps.i.word("cache")
	default:
		if pkg.Repos&db.PinningMaskRepos(defaultPinningMask|1<<uint(tag)) != 0 {
			return
		}
		for _, t := range db.Tags {
			if pkg.Repos&t.AllowedRepos != 0 {
				ps.labelStart("masked in:")
				ps.i.word(t.Tag)
			}
		}
	}
	ps.labelEnd()
}

func (ps *printState) printConflicts(pkg *Pkg) {
	for _, p := range pkg.Name.Providers {
		if p.Pkg == pkg || !p.Pkg.marked {
			continue
		}
		ps.labelStart("conflicts:")
		ps.i.word(p.Pkg.NameVersion())
	}
	for di := range pkg.Provides {
		d := &pkg.Provides[di]
		once := true
		for _, p := range d.Name.Providers {
			if !p.Pkg.marked {
				continue
			}
			if d.Version == "" && p.Version == "" {
				continue
			}
			if once && p.Pkg == pkg && p.Version == d.Version {
				once = false
				continue
			}
			ps.labelStart("conflicts:")
			ps.i.word(fmt.Sprintf("%s[%s]", p.Pkg.NameVersion(), d.String()))
		}
	}
	ps.labelEnd()
}

func (ps *printState) printDep(pkg0 *Pkg, d0 *Dep, _ *Pkg) {
	label := "breaks:"
	if ps.match&depSatisfies != 0 {
		label = "satisfies:"
	}
	ps.labelStart(label)
	if pkg0 == nil {
		ps.i.word(fmt.Sprintf("world[%s]", d0.String()))
	} else {
		ps.i.word(fmt.Sprintf("%s[%s]", pkg0.NameVersion(), d0.String()))
	}
}

func (ps *printState) printDeps(pkg *Pkg, match uint32) {
	ps.match = match
	match |= foreachMarked | foreachDep
	ps.db.foreachMatchingDependency(nil, ps.world, match|ps.db.nextGenid(), pkg, ps.printDep)
	ps.db.foreachReverseDependency(pkg, match|ps.db.nextGenid(), ps.printDep)
	ps.labelEnd()
}

func (ps *printState) analyzePackage(pkg *Pkg, tag int) {
	ps.setLabel(pkg.NameVersion())
	ps.printPinningErrors(pkg, tag)
	ps.printConflicts(pkg)
	ps.printDeps(pkg, depConflicts)
	if !ps.hasLabel {
		ps.printDeps(pkg, depSatisfies)
	}
}

func (ps *printState) analyzeMissingName(name *Name) {
	if len(name.Providers) > 0 {
		ps.setLabel(name.Name + " (virtual)")
		ps.labelStart("note:")
		ps.i.words("please select one of the 'provided by' packages explicitly")
		ps.labelEnd()

		ps.labelStart("provided by:")
		for _, p0 := range name.Providers {
			p0.Pkg.Name.stateInt++
		}
		for _, p0 := range name.Providers {
			name0 := p0.Pkg.Name
			refs := name0.stateInt & stateCountMask
			if int(refs) == len(name0.Providers) {
				// name only
				ps.i.word(name0.Name)
				name0.stateInt &^= stateCountMask
			} else if refs > 0 {
				// individual package
				ps.i.word(p0.Pkg.NameVersion())
				name0.stateInt--
			}
		}
		ps.labelEnd()
	} else {
		ps.setLabel(name.Name + " (no such package)")
	}

	ps.labelStart("required by:")
	for i := range ps.world {
		d0 := &ps.world[i]
		if d0.Name != name || d0.Conflict {
			continue
		}
		ps.i.word(fmt.Sprintf("world[%s]", d0.String()))
	}
	genid := ps.db.nextGenid()
	for _, name0 := range ps.db.rdepends(name) {
		for _, p0 := range name0.Providers {
			if !p0.Pkg.marked {
				continue
			}
			if p0.Pkg.foreachGenid == genid {
				continue
			}
			p0.Pkg.foreachGenid = genid
			for di := range p0.Pkg.Depends {
				d0 := &p0.Pkg.Depends[di]
				if d0.Name != name || d0.Conflict {
					continue
				}
				ps.i.word(fmt.Sprintf("%s[%s]", p0.Pkg.NameVersion(), d0.String()))
				break
			}
			// apk stops at the first marked provider of each reverse
			// dependency, whether or not it printed anything for it.
			break
		}
	}
	ps.labelEnd()
}

func (ps *printState) analyzeDeps(deps []Dep) {
	for i := range deps {
		d0 := &deps[i]
		name0 := d0.Name
		if d0.Conflict {
			continue
		}
		if name0.stateInt&(stateInstallIf|statePresent|stateMissing) != 0 {
			continue
		}
		name0.stateInt |= stateMissing
		ps.analyzeMissingName(name0)
	}
}

func (db *DB) discoverReverseIif(name *Name) {
	for _, name0 := range db.rinstallIf(name) {
		for _, p := range name0.Providers {
			if !p.Pkg.marked || len(p.Pkg.InstallIf) == 0 {
				continue
			}
			ok := true
			for _, d := range p.Pkg.InstallIf {
				if d.Conflict == (d.Name.stateInt&(statePresent|stateInstallIf) != 0) {
					ok = false
					break
				}
			}
			if ok {
				db.discoverReportName(p.Pkg.Name, stateInstallIf)
				for _, d := range p.Pkg.Provides {
					db.discoverReportName(d.Name, stateInstallIf)
				}
			}
		}
	}
}

func isNameConcrete(pkg *Pkg, name *Name) bool {
	if pkg.Name == name {
		return true
	}
	for _, d := range pkg.Provides {
		if d.Name == name && d.Version != "" {
			return true
		}
	}
	return false
}

func (db *DB) discoverReportName(name *Name, pkgState uint32) {
	for _, p := range name.Providers {
		state := pkgState
		if !p.Pkg.marked {
			continue
		}
		if (state == statePresent || state == stateInstallIf) &&
			p.Pkg.ProviderPriority == 0 && !isNameConcrete(p.Pkg, name) {
			state = stateVirtualOnly
		}
		if p.Pkg.stateInt&state != 0 {
			continue
		}
		p.Pkg.stateInt |= state
		p.Pkg.Name.stateInt |= state
		for _, d := range p.Pkg.Provides {
			depState := state
			if depState == stateInstallIf && d.Version == "" {
				depState = stateVirtualOnly
			}
			d.Name.stateInt |= depState
		}
		db.discoverReportDeps(p.Pkg.Depends)
		if state == statePresent || state == stateInstallIf {
			db.discoverReverseIif(p.Pkg.Name)
			for _, d := range p.Pkg.Provides {
				db.discoverReverseIif(d.Name)
			}
		}
	}
}

func (db *DB) discoverReportDeps(deps []Dep) {
	for _, d := range deps {
		if d.Conflict {
			continue
		}
		db.discoverReportName(d.Name, statePresent)
	}
}

// Unsatisfiable is the error of a failed solve of world, with apk's
// report of why, wrapped at width columns (apk's 50 when 0).
func (db *DB) Unsatisfiable(cs *Changeset, world []Dep, width int) *UnsatisfiableError {
	var report strings.Builder
	db.writeReport(&report, cs, world, Output{Width: width}.width())
	return &UnsatisfiableError{Report: report.String()}
}

// writeReport writes the lines of apk's "unable to select packages"
// report for a failed solve.
func (db *DB) writeReport(w io.Writer, cs *Changeset, world []Dep, width int) {
	db.clearReportState()
	for _, c := range cs.Changes {
		if c.New != nil {
			c.New.marked = true
		}
	}
	db.discoverReportDeps(world)

	ps := &printState{db: db, world: world, i: indentWriter{w: w, width: width}}
	ps.analyzeDeps(world)
	for _, c := range cs.Changes {
		if c.New == nil {
			continue
		}
		ps.analyzePackage(c.New, c.NewRepositoryTag)
		ps.analyzeDeps(c.New.Depends)
	}
	if ps.numLabels == 0 {
		ps.i.line("Huh? Error reporter did not find the broken constraints.\n")
	}
}

func (db *DB) clearReportState() {
	for _, n := range db.nameList {
		n.stateInt = 0
		for _, p := range n.Providers {
			p.Pkg.marked = false
			p.Pkg.stateInt = 0
		}
	}
}

// ChangeVerb says what a change does, as apk's progress lines say it, or ""
// for a change that does nothing.
func (db *DB) ChangeVerb(c *Change) string {
	switch {
	case c.Old == nil:
		return "Installing"
	case c.New == nil:
		return "Purging"
	case c.New == c.Old:
		if c.Reinstall {
			if c.New.Repos&db.AvailableRepos != 0 {
				return "Reinstalling"
			}
			return "[APK unavailable, skipped] Reinstalling"
		}
		if c.OldRepositoryTag != c.NewRepositoryTag {
			return "Updating pinning"
		}
		return ""
	}
	switch apk.CompareVersions(c.New.Version, c.Old.Version) {
	case apk.VersionLess:
		return "Downgrading"
	case apk.VersionEqual:
		return "Replacing"
	default:
		return "Upgrading"
	}
}

// ChangeLine renders a change as apk prints it: "(i/n) Installing name (ver)".
func (db *DB) ChangeLine(c *Change, cur, total int) string {
	verb := db.ChangeVerb(c)
	if verb == "" {
		return ""
	}
	name := c.Old
	if c.New != nil {
		name = c.New
	}
	tag := db.Tags[c.NewRepositoryTag].Tag
	status := fmt.Sprintf("(%d/%d)", cur+1, total)
	switch {
	case c.Old == nil:
		return fmt.Sprintf("%s %s %s%s (%s)", status, verb, name.Name.Name, tag, c.New.Version)
	case c.New == nil:
		return fmt.Sprintf("%s %s %s%s (%s)", status, verb, name.Name.Name, tag, c.Old.Version)
	case c.New == c.Old:
		return fmt.Sprintf("%s %s %s%s (%s)", status, verb, name.Name.Name, tag, c.New.Version)
	}
	return fmt.Sprintf("%s %s %s%s (%s -> %s)", status, verb, name.Name.Name, tag, c.Old.Version, c.New.Version)
}

// Counts returns how many changes do something (the "total" of the
// progress lines).
func (cs *Changeset) Counts() (changes int) {
	for _, c := range cs.Changes {
		if c.New != c.Old || c.Reinstall || c.NewRepositoryTag != c.OldRepositoryTag {
			changes++
		}
	}
	return changes
}
