// Package solver chooses the packages for a world the way apk-tools 2.14
// does, and reports the changes or the reasons it cannot.
//
// The algorithm is apk's (src/solver.c, src/commit.c): a deductive solver
// that propagates constraints down the dependency graph and picks providers
// one name at a time. It is reproduced closely, including the orders in
// which apk visits names and packages, because those orders decide between
// equally good answers and cairn must give the answer apk gives.
package solver

import (
	mathbits "math/bits"

	"github.com/cairnlinux/cairn/internal/apk"
)

// Repository numbers as apk assigns them: bit 0 is the package cache, the
// configured repositories start at 1.
const (
	RepoCached          = 0
	RepoFirstConfigured = 1
	// RepoInstalled and RepoCacheOnly are the pseudo repository numbers for
	// AddPackage: an installed-database record and a package known only
	// from the local cache.
	RepoInstalled = -1
	RepoCacheOnly = -2

	maxRepos = 32
	maxTags  = 16
)

// Name is a package name or a name provided by packages (so:, cmd:,
// virtual names). Names are interned per DB.
type Name struct {
	Name      string
	Providers []Provider
	// rev holds the reverse dependencies once computed (DB.rdepends).
	rev *reverseLists
	ss  *nameState // solver state, set only while solving

	id       int32  // index in DB.nameList, which is creation order
	stateInt uint32 // scratch state of the error reporter and commands

	autoSelectVirtual bool
	solverFlagsSet    bool
}

// Provider is a package providing a name, with the version it provides
// ("" for an unversioned, virtual provide).
type Provider struct {
	Pkg     *Pkg
	Version string
}

// reverseLists are the names whose providers depend on (rdepends) or
// name in install_if (rinstallIf) a name, in apk's order.
type reverseLists struct {
	rdepends   []*Name
	rinstallIf []*Name
}

// Dep is a dependency with its name resolved in a DB.
type Dep struct {
	Name     *Name
	Version  string
	Mask     int8
	Conflict bool
	Fuzzy    bool
	broken   bool
	Tag      int16 // repository tag id
}

// Pkg is a package known to a DB, from a repository, the cache or the
// installed database. It holds directly what choosing and installing need
// of every package; the full record is Info().
type Pkg struct {
	Name          *Name
	Version       string
	Arch          string
	Checksum      apk.Checksum // identity (C:)
	Size          int64        // size of the .apk file (S:)
	InstalledSize int64        // 0 makes a virtual (meta) package (I:)
	BuildTime     int64        // t:
	Depends       []Dep
	Provides      []Dep
	InstallIf     []Dep
	Installed     *Installed

	// meta is the full record when the DB has one: packages from the
	// installed database, from files or added whole, and meta packages
	// from indexes. Other index packages keep only the fields above.
	meta *apk.Package
	ss   *pkgState // solver state, set only while solving

	ProviderPriority int32 // k:
	// Repos is the set of repositories (bit numbers) holding the package.
	Repos        uint32
	id           int32 // index in DB.pkgList
	stateInt     uint32
	foreachGenid uint32

	// Solver flags set for the next solve (apk_solver_set_name_flags).
	presetFlags, presetInheritable uint16

	uninstallable       bool
	excluded            bool // by Restrict
	cachedNonRepository bool
	fromFile            bool
	marked              bool
}

// newPkg makes a Pkg of a package record, keeping the record.
func newPkg(info *apk.Package, name *Name) *Pkg {
	p := &Pkg{Name: name, meta: info}
	p.setFields(info)
	return p
}

func (p *Pkg) setFields(info *apk.Package) {
	p.Version = info.Version
	p.Arch = info.Arch
	p.Checksum = info.Checksum
	p.Size = info.Size
	p.InstalledSize = info.InstalledSize
	p.BuildTime = info.BuildTime
	p.ProviderPriority = int32(info.ProviderPriority)
	p.uninstallable = info.Uninstallable
}

// Info returns the package's record. For packages loaded from an index
// without their full record it is rebuilt from what the DB keeps (name,
// version, arch, sizes, identity, provider priority and dependencies).
func (p *Pkg) Info() *apk.Package {
	if p.meta != nil {
		return p.meta
	}
	return &apk.Package{
		Name:             p.Name.Name,
		Version:          p.Version,
		Arch:             p.Arch,
		Checksum:         p.Checksum,
		Size:             p.Size,
		InstalledSize:    p.InstalledSize,
		BuildTime:        p.BuildTime,
		ProviderPriority: int(p.ProviderPriority),
		Depends:          exportDeps(p.Depends),
		Provides:         exportDeps(p.Provides),
		InstallIf:        exportDeps(p.InstallIf),
		Uninstallable:    p.uninstallable,
	}
}

func exportDeps(deps []Dep) []apk.Dependency {
	if len(deps) == 0 {
		return nil
	}
	out := make([]apk.Dependency, len(deps))
	for i, d := range deps {
		out[i] = apk.Dependency{Name: d.Name.Name, Version: d.Version, Mask: int(d.Mask), Conflict: d.Conflict, Fuzzy: d.Fuzzy}
	}
	return out
}

// NameVersion renders "name-version".
func (p *Pkg) NameVersion() string { return p.Name.Name + "-" + p.Version }

// Installed is the installed-database state of a package.
type Installed struct {
	RepositoryTag    int
	Replaces         []Dep
	ReplacesPriority int
	BrokenFiles      bool
	BrokenScript     bool
	BrokenXattr      bool
	// Record is the installed-database record, with its file list.
	Record *apk.InstalledPackage
}

// RepoTag is a repository tag ("@edge") and the repositories it allows.
type RepoTag struct {
	Tag          string // with its '@'; "" for the default tag
	AllowedRepos uint32
}

// DB holds the packages and names the solver works on: apk's "available"
// and "installed" state.
type DB struct {
	names    nameTable
	nameList []*Name
	nameSlab []Name
	strings  stringArena
	pkgList  []*Pkg
	byCsum   map[checksumKey]*Pkg

	// While an index is loaded, providers are collected here (in blocks)
	// and added in one block at the end (see flushProviders).
	deferProviders bool
	pending        [][]pendingProvider

	Tags           []RepoTag
	AvailableRepos uint32
	LocalRepos     uint32

	installed []*Pkg
	World     []Dep

	// OpenComplete selects how reverse dependencies are recorded. While a
	// DB is being opened apk collects them afterwards in the order of its
	// name hash table (Complete); packages added later append to them.
	openComplete bool
	openPkgs     int
	openNames    int
	hashRank     []int32
	byRank       []*Name
	revDeps      reverseIndex
	revIif       reverseIndex
	// Scratch space of reverseNames, and the slab its lists are cut
	// from: one solve fills thousands of them.
	revScratch []*Name
	revBits    []uint64
	revSlab    []*Name

	PerformingSelfUpgrade bool
	ForceBrokenWorld      bool

	genid uint32
}

// NewDB returns an empty DB with the cache repository available and the
// default repository tag defined.
func NewDB() *DB {
	db := &DB{
		byCsum:         make(map[checksumKey]*Pkg),
		Tags:           []RepoTag{{}},
		AvailableRepos: 1 << RepoCached,
		LocalRepos:     1 << RepoCached,
	}
	db.names.list = &db.nameList
	return db
}

// GetName interns a name.
func (db *DB) GetName(n string) *Name {
	if nm := db.names.lookup(n); nm != nil {
		return nm
	}
	if len(db.nameSlab) == 0 {
		db.nameSlab = make([]Name, 512)
	}
	nm := &db.nameSlab[0]
	db.nameSlab = db.nameSlab[1:]
	// The name may be a substring of a large buffer (an index record):
	// keep a copy of its own.
	*nm = Name{Name: db.strings.copy(n), id: int32(len(db.nameList))}
	db.nameList = append(db.nameList, nm)
	db.names.insert(nm)
	return nm
}

// Reserve makes room for about pkgs more packages and names more names,
// so that loading a large index does not grow the DB's tables step by
// step (each step leaves the old table behind as garbage).
func (db *DB) Reserve(pkgs, names int) {
	if pkgs <= 0 && names <= 0 {
		return
	}
	if need := len(db.pkgList) + pkgs; need > cap(db.pkgList) {
		db.pkgList = append(make([]*Pkg, 0, need), db.pkgList...)
	}
	if need := len(db.nameList) + names; need > cap(db.nameList) {
		db.nameList = append(make([]*Name, 0, need), db.nameList...)
	}
	db.names.reserve(len(db.nameList) + names)
	if len(db.byCsum) == 0 {
		db.byCsum = make(map[checksumKey]*Pkg, pkgs)
	}
}

// LookupName returns the name if the DB knows it.
func (db *DB) LookupName(n string) *Name { return db.names.lookup(n) }

// Names returns every name the DB knows, in the order they were made
// (package names and provided ones, also those only depended on). The
// slice is the DB's own: do not change it.
func (db *DB) Names() []*Name { return db.nameList }

// TagID returns the id of a repository tag ("@edge" or "edge"), creating
// it if needed; "" is the default tag 0.
func (db *DB) TagID(tag string) int {
	if tag == "" {
		return 0
	}
	if tag[0] != '@' {
		tag = "@" + tag
	}
	for i := 1; i < len(db.Tags); i++ {
		if db.Tags[i].Tag == tag {
			return i
		}
	}
	if len(db.Tags) >= maxTags {
		return -1
	}
	db.Tags = append(db.Tags, RepoTag{Tag: tag})
	return len(db.Tags) - 1
}

// ResolveDep interns the names of a parsed dependency.
func (db *DB) ResolveDep(d apk.Dependency) Dep {
	return Dep{
		Name:     db.GetName(d.Name),
		Version:  d.Version,
		Mask:     int8(d.Mask),
		Conflict: d.Conflict,
		Fuzzy:    d.Fuzzy,
		Tag:      int16(db.TagID(d.Tag)),
	}
}

func (db *DB) resolveDeps(ds []apk.Dependency) []Dep {
	if len(ds) == 0 {
		return nil
	}
	out := make([]Dep, len(ds))
	for i, d := range ds {
		out[i] = db.ResolveDep(d)
	}
	return out
}

// AddPackage adds a package from repository number repo (RepoFirstConfigured
// and up), or RepoInstalled with inst, or RepoCacheOnly. A package already
// known by its identity is merged, as apk merges the same package seen in
// several repositories. It returns the DB's package.
func (db *DB) AddPackage(info *apk.Package, repo int, inst *Installed) *Pkg {
	pkg := newPkg(info, db.GetName(info.Name))
	pkg.Depends = db.resolveDeps(info.Depends)
	pkg.Provides = db.resolveDeps(info.Provides)
	pkg.InstallIf = db.resolveDeps(info.InstallIf)
	switch {
	case repo >= 0:
		pkg.Repos |= 1 << uint(repo)
	case repo == RepoCacheOnly:
		pkg.cachedNonRepository = true
	case repo == RepoInstalled:
		if inst == nil {
			inst = &Installed{}
		}
		pkg.Installed = inst
		db.installed = append(db.installed, pkg)
	}
	return db.addPkg(pkg)
}

// AddFilePackage adds a package read from a local .apk file (apk add
// ./file.apk): it counts as in the cache and always available.
func (db *DB) AddFilePackage(info *apk.Package) *Pkg {
	pkg := newPkg(info, db.GetName(info.Name))
	pkg.fromFile = true
	pkg.Depends = db.resolveDeps(info.Depends)
	pkg.Provides = db.resolveDeps(info.Provides)
	pkg.InstallIf = db.resolveDeps(info.InstallIf)
	pkg.Repos |= 1 << RepoCached
	return db.addPkg(pkg)
}

func (db *DB) addPkg(pkg *Pkg) *Pkg {
	key, hasKey := csumKey(pkg.Checksum)
	if idb, ok := db.byCsum[key]; ok && hasKey {
		idb.Repos |= pkg.Repos
		idb.fromFile = idb.fromFile || pkg.fromFile
		idb.cachedNonRepository = idb.cachedNonRepository || pkg.cachedNonRepository
		if idb.Installed == nil && pkg.Installed != nil {
			idb.Installed = pkg.Installed
			for i, p := range db.installed {
				if p == pkg {
					db.installed[i] = idb
				}
			}
		}
		return idb
	}
	if hasKey {
		db.byCsum[key] = pkg
	}
	pkg.id = int32(len(db.pkgList))
	db.pkgList = append(db.pkgList, pkg)
	if db.deferProviders {
		db.deferProvider(pkg.Name, pkg, -1)
		for i, d := range pkg.Provides {
			db.deferProvider(d.Name, pkg, i)
		}
	} else {
		pkg.Name.Providers = append(pkg.Name.Providers, Provider{Pkg: pkg, Version: pkg.Version})
		for _, d := range pkg.Provides {
			d.Name.Providers = append(d.Name.Providers, Provider{Pkg: pkg, Version: d.Version})
		}
	}
	if db.openComplete {
		db.addRdepends(pkg)
	}
	return pkg
}

// checksumKey is a package identity as a map key.
type checksumKey struct {
	n   uint8
	sum [20]byte
}

func csumKey(c apk.Checksum) (checksumKey, bool) {
	var k checksumKey
	if len(c) == 0 || len(c) > len(k.sum) {
		return k, false
	}
	k.n = uint8(len(c))
	copy(k.sum[:], c)
	return k, true
}

// pendingProvider is a provider collected while an index loads: the
// package's own name (prov -1) or its prov-th provided name. Ids instead
// of pointers and strings keep the ~70,000 of a full Alpine repository
// small while they wait.
type pendingProvider struct {
	name, pkg, prov int32
}

func (db *DB) deferProvider(n *Name, pkg *Pkg, prov int) {
	if k := len(db.pending); k == 0 || len(db.pending[k-1]) == cap(db.pending[k-1]) {
		db.pending = append(db.pending, make([]pendingProvider, 0, 4096))
	}
	k := len(db.pending) - 1
	db.pending[k] = append(db.pending[k], pendingProvider{name: n.id, pkg: pkg.id, prov: int32(prov)})
}

// flushProviders appends the collected providers to their names, in the
// order they were added, growing each name's list once from one block.
func (db *DB) flushProviders() {
	db.deferProviders = false
	if len(db.pending) == 0 {
		return
	}
	more := make([]int32, len(db.nameList))
	for _, block := range db.pending {
		for _, pp := range block {
			more[pp.name]++
		}
	}
	total := 0
	for id, k := range more {
		if k > 0 {
			total += len(db.nameList[id].Providers) + int(k)
		}
	}
	block := make([]Provider, total)
	for id, k := range more {
		if k == 0 {
			continue
		}
		n := db.nameList[id]
		size := len(n.Providers) + int(k)
		grown := block[:len(n.Providers):size]
		copy(grown, n.Providers)
		n.Providers = grown
		block = block[size:]
	}
	for _, block := range db.pending {
		for _, pp := range block {
			pkg := db.pkgList[pp.pkg]
			version := pkg.Version
			if pp.prov >= 0 {
				version = pkg.Provides[pp.prov].Version
			}
			n := db.nameList[pp.name]
			n.Providers = append(n.Providers, Provider{Pkg: pkg, Version: version})
		}
	}
	db.pending = nil
}

func addNameOnce(list []*Name, n *Name) []*Name {
	for _, x := range list {
		if x == n {
			return list
		}
	}
	return append(list, n)
}

// addRdepends records pkg's reverse dependencies incrementally, as apk does
// for packages added after the database is open.
func (db *DB) addRdepends(pkg *Pkg) {
	for _, d := range pkg.Depends {
		rev := db.reverse(d.Name)
		rev.rdepends = addNameOnce(rev.rdepends, pkg.Name)
		for _, p := range pkg.Provides {
			rev.rdepends = addNameOnce(rev.rdepends, p.Name)
		}
	}
	for _, d := range pkg.InstallIf {
		rev := db.reverse(d.Name)
		rev.rinstallIf = addNameOnce(rev.rinstallIf, pkg.Name)
		for _, p := range pkg.Provides {
			rev.rinstallIf = addNameOnce(rev.rinstallIf, p.Name)
		}
	}
}

// reverseIndex maps each name to the packages (by id) that depend on it
// or name it in install_if, for the packages present when the database
// was opened: a compressed sparse row table.
type reverseIndex struct {
	start []int32 // per name id; packages are pkgs[start[i]:start[i+1]]
	pkgs  []int32
}

func buildReverseIndex(db *DB, depsOf func(*Pkg) []Dep) reverseIndex {
	n := len(db.nameList)
	ri := reverseIndex{start: make([]int32, n+1)}
	for _, p := range db.pkgList {
		for _, d := range depsOf(p) {
			ri.start[d.Name.id+1]++
		}
	}
	for i := 1; i <= n; i++ {
		ri.start[i] += ri.start[i-1]
	}
	ri.pkgs = make([]int32, ri.start[n])
	fill := append([]int32(nil), ri.start[:n]...)
	for _, p := range db.pkgList {
		for _, d := range depsOf(p) {
			ri.pkgs[fill[d.Name.id]] = p.id
			fill[d.Name.id]++
		}
	}
	return ri
}

// CompleteOpen finishes opening: it prepares the reverse dependencies of
// everything added so far and switches the DB to incremental mode. Call
// it once, after the repositories and the installed database are loaded.
//
// apk collects reverse dependencies at this point by walking its name hash
// table, so a name's reverse dependencies are ordered by the hash table
// position of the depending names. cairn computes that order (the hash
// rank of each name) and builds each name's list on first use.
func (db *DB) CompleteOpen() {
	if db.openComplete {
		return
	}
	db.openPkgs = len(db.pkgList)
	db.openNames = len(db.nameList)
	db.hashRank = db.hashRanks()
	db.revDeps = buildReverseIndex(db, func(p *Pkg) []Dep { return p.Depends })
	db.revIif = buildReverseIndex(db, func(p *Pkg) []Dep { return p.InstallIf })
	db.openComplete = true
}

// reverse returns a name's reverse dependency lists, filling them on
// first use from the index built when the database was opened.
func (db *DB) reverse(n *Name) *reverseLists {
	if n.rev != nil {
		return n.rev
	}
	n.rev = &reverseLists{}
	if int(n.id) < db.openNames {
		n.rev.rdepends = db.reverseNames(db.revDeps, n)
		n.rev.rinstallIf = db.reverseNames(db.revIif, n)
	}
	return n.rev
}

// reverseNames lists the names provided by the packages in ri for n,
// each once, ordered by hash rank.
func (db *DB) reverseNames(ri reverseIndex, n *Name) []*Name {
	ids := ri.pkgs[ri.start[n.id]:ri.start[n.id+1]]
	if len(ids) == 0 {
		return nil
	}
	if db.revScratch == nil {
		// A list holds each name at most once: sized for the longest,
		// it never grows.
		db.revScratch = make([]*Name, 0, len(db.nameList))
	}
	names := db.revScratch[:0]
	add := func(x *Name) {
		if x.stateInt&4 == 0 {
			x.stateInt |= 4
			names = append(names, x)
		}
	}
	for _, id := range ids {
		p := db.pkgList[id]
		add(p.Name)
		for _, pr := range p.Provides {
			add(pr.Name)
		}
	}
	for _, x := range names {
		x.stateInt &^= 4
	}
	rank := db.hashRank
	if len(names) < 64 {
		// insertion sort: most lists are short
		for i := 1; i < len(names); i++ {
			for j := i; j > 0 && rank[names[j].id] < rank[names[j-1].id]; j-- {
				names[j], names[j-1] = names[j-1], names[j]
			}
		}
	} else {
		// Long lists (the reverse dependencies of libc and the like):
		// mark their ranks in a bit set and read it back in order.
		if db.revBits == nil {
			db.revBits = make([]uint64, (len(db.byRank)+63)/64)
		}
		bits := db.revBits
		for _, x := range names {
			r := rank[x.id]
			bits[r/64] |= 1 << (r % 64)
		}
		names = names[:0]
		for w, word := range bits {
			bits[w] = 0
			for word != 0 {
				b := mathbits.TrailingZeros64(word)
				word &^= 1 << b
				names = append(names, db.byRank[w*64+b])
			}
		}
	}
	db.revScratch = names
	return db.cutNames(names)
}

// cutNames copies names into an exactly sized slice cut from a slab.
func (db *DB) cutNames(names []*Name) []*Name {
	n := len(names)
	if n > len(db.revSlab) {
		if n > 1024 {
			return append([]*Name(nil), names...)
		}
		db.revSlab = make([]*Name, 4096)
	}
	out := db.revSlab[:n:n]
	db.revSlab = db.revSlab[n:]
	copy(out, names)
	return out
}

func (db *DB) rdepends(n *Name) []*Name { return db.reverse(n).rdepends }

func (db *DB) rinstallIf(n *Name) []*Name { return db.reverse(n).rinstallIf }

// hashRanks gives each name its position in apk's name hash table walk:
// by bucket (murmur3 of the name, seed 5381, modulo 20000 buckets), and
// within a bucket the most recently created first.
func (db *DB) hashRanks() []int32 {
	const buckets = 20000
	count := make([]int32, buckets+1)
	bucket := make([]uint16, len(db.nameList))
	for i, n := range db.nameList {
		b := murmur3(n.Name, 5381) % buckets
		bucket[i] = uint16(b)
		count[b+1]++
	}
	for i := 1; i <= buckets; i++ {
		count[i] += count[i-1]
	}
	rank := make([]int32, len(db.nameList))
	db.byRank = make([]*Name, len(db.nameList))
	for i := len(db.nameList) - 1; i >= 0; i-- {
		b := bucket[i]
		rank[i] = count[b]
		db.byRank[count[b]] = db.nameList[i]
		count[b]++
	}
	return rank
}

// InstalledPackages returns the installed packages in database order.
func (db *DB) InstalledPackages() []*Pkg { return db.installed }

// InstalledPkg returns the installed package of a name, if any.
func (n *Name) InstalledPkg() *Pkg {
	for _, p := range n.Providers {
		if p.Pkg.Name == n && p.Pkg.Installed != nil {
			return p.Pkg
		}
	}
	return nil
}

// PinningMaskRepos returns the repositories allowed by a set of tags.
func (db *DB) PinningMaskRepos(mask uint32) uint32 {
	var repos uint32
	for i := 0; i < len(db.Tags) && mask != 0; i++ {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		mask &^= 1 << uint(i)
		repos |= db.Tags[i].AllowedRepos
	}
	return repos
}

// Restrict makes every package for which keep is false unavailable, as
// if no repository had it: used to build exactly the packages of a lock.
// Installed packages stay installed.
func (db *DB) Restrict(keep func(*Pkg) bool) {
	for _, p := range db.pkgList {
		if !keep(p) && p.Installed == nil {
			p.excluded = true
		}
	}
}

// SetNameFlags marks every provider of name with solver flags, as apk does
// for the names named on its command line.
func (db *DB) SetNameFlags(name *Name, flags, inheritable uint16) {
	name.solverFlagsSet = true
	for _, p := range name.Providers {
		p.Pkg.presetFlags |= flags
		p.Pkg.presetInheritable |= inheritable
	}
}

func (db *DB) nextGenid() uint32 {
	db.genid += 0x100
	return db.genid
}

func murmur3(key string, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(key) / 4
	for i := 0; i < n; i++ {
		k := uint32(key[4*i]) | uint32(key[4*i+1])<<8 | uint32(key[4*i+2])<<16 | uint32(key[4*i+3])<<24
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
		h = h<<13 | h>>19
		h = h*5 + 0xe6546b64
	}
	tail := key[4*n:]
	var k uint32
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
	}
	h ^= uint32(len(key))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
