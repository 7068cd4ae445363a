package install

import (
	"github.com/cairnlinux/cairn/internal/apk"
)

// record returns the installed-database record of ps after the commit:
// the index fields, the installed-only fields and the files it owns.
func (ps *pkgState) record(pl *planner) *apk.InstalledPackage {
	var rec apk.InstalledPackage
	if ps.rec != nil {
		rec = *ps.rec
	} else {
		rec = apk.InstalledPackage{
			Package:          *ps.info,
			Replaces:         ps.replaces,
			ReplacesPriority: ps.replacesPriority,
		}
	}
	rec.RepositoryTag = ps.repoTag
	rec.BrokenFiles = ps.brokenFiles
	rec.BrokenScript = ps.brokenScript
	rec.BrokenXattr = ps.brokenXattr
	rec.SHA256x160 = ps.sha256x160
	owns := func(dir, name string) bool {
		o := pl.owners[joinPath(dir, name)]
		return o != nil && o.pkg == ps
	}
	switch {
	case ps.staged != nil:
		rec.Dirs = make([]apk.InstalledDir, 0, len(ps.staged.dirs))
		index := map[*stagedDir]int{}
		for _, d := range ps.staged.dirs {
			index[d] = len(rec.Dirs)
			rec.Dirs = append(rec.Dirs, apk.InstalledDir{Path: d.path, ACL: d.acl})
		}
		for _, f := range ps.staged.files {
			if f.skip || !owns(f.dir.path, f.name) {
				continue
			}
			d := &rec.Dirs[index[f.dir]]
			d.Files = append(d.Files, apk.InstalledFile{Name: f.name, ACL: f.acl, Checksum: f.csum})
		}
	case ps.lostFiles:
		dirs := make([]apk.InstalledDir, len(rec.Dirs))
		for i, d := range rec.Dirs {
			nd := d
			nd.Files = nil
			for _, f := range d.Files {
				if owns(d.Path, f.Name) {
					nd.Files = append(nd.Files, f)
				}
			}
			dirs[i] = nd
		}
		rec.Dirs = dirs
	}
	return &rec
}
