package solver

// Solver flags, as apk's APK_SOLVERF_*.
const (
	FlagUpgrade        uint16 = 0x0001
	FlagAvailable      uint16 = 0x0002
	FlagReinstall      uint16 = 0x0004
	FlagLatest         uint16 = 0x0008
	FlagIgnoreConflict uint16 = 0x0010
	FlagInstalled      uint16 = 0x0020
	FlagRemove         uint16 = 0x0040
)

const defaultPinningMask = 1 << 0

type nameState struct {
	chosen Provider

	// dirty and unresolved queues (intrusive lists)
	dirtyPrev, dirtyNext           *Name
	inDirty                        bool
	unresolvedPrev, unresolvedNext *Name
	inUnresolved                   bool

	// changeset generation
	installedName *Name
	installedPkg  *Pkg

	orderID            int32
	requirers          int32
	mergeDepends       int32
	mergeProvides      int32
	seen               bool
	locked             bool
	changesetProcessed bool
	changesetRemoved   bool
	reevaluateDeps     bool
	reevaluateIif      bool
	hasIif             bool
	noIif              bool
	hasOptions         bool
	reverseDepsDone    bool
	hasVirtualProvides bool
	hasAutoSelectable  bool
}

type pkgState struct {
	conflicts              int32
	pinningAllowed         uint32
	pinningPreferred       uint32
	solverFlags            uint16
	solverFlagsInheritable uint16
	seen                   bool
	pkgAvailable           bool
	pkgSelectable          bool
	tagOK                  bool
	tagPreferred           bool
	dependenciesUsed       bool
	dependenciesMerged     bool
	inChangeset            bool
	iifTriggered           bool
	iifFailed              bool
	err                    bool
}

// nameList is an intrusive doubly linked list of names, like apk's
// list_head, for the dirty and unresolved queues.
type dirtyQueue struct{ head, tail *Name }

func (q *dirtyQueue) pushBack(n *Name) {
	n.ss.inDirty = true
	n.ss.dirtyPrev, n.ss.dirtyNext = q.tail, nil
	if q.tail != nil {
		q.tail.ss.dirtyNext = n
	} else {
		q.head = n
	}
	q.tail = n
}

func (q *dirtyQueue) remove(n *Name) {
	if !n.ss.inDirty {
		return
	}
	if n.ss.dirtyPrev != nil {
		n.ss.dirtyPrev.ss.dirtyNext = n.ss.dirtyNext
	} else {
		q.head = n.ss.dirtyNext
	}
	if n.ss.dirtyNext != nil {
		n.ss.dirtyNext.ss.dirtyPrev = n.ss.dirtyPrev
	} else {
		q.tail = n.ss.dirtyPrev
	}
	n.ss.dirtyPrev, n.ss.dirtyNext, n.ss.inDirty = nil, nil, false
}

func (q *dirtyQueue) popFront() *Name {
	n := q.head
	if n != nil {
		q.remove(n)
	}
	return n
}

type unresolvedList struct{ head, tail *Name }

func (q *unresolvedList) pushFront(n *Name) {
	n.ss.inUnresolved = true
	n.ss.unresolvedPrev, n.ss.unresolvedNext = nil, q.head
	if q.head != nil {
		q.head.ss.unresolvedPrev = n
	} else {
		q.tail = n
	}
	q.head = n
}

func (q *unresolvedList) remove(n *Name) {
	if !n.ss.inUnresolved {
		return
	}
	if n.ss.unresolvedPrev != nil {
		n.ss.unresolvedPrev.ss.unresolvedNext = n.ss.unresolvedNext
	} else {
		q.head = n.ss.unresolvedNext
	}
	if n.ss.unresolvedNext != nil {
		n.ss.unresolvedNext.ss.unresolvedPrev = n.ss.unresolvedPrev
	} else {
		q.tail = n.ss.unresolvedPrev
	}
	n.ss.unresolvedPrev, n.ss.unresolvedNext, n.ss.inUnresolved = nil, nil, false
}
