package solver

import "unsafe"

// stringArena copies short strings (names, versions) into large blocks, so
// that tens of thousands of them cost a handful of allocations and none of
// them keeps the much larger text they were cut from alive.
type stringArena struct {
	block []byte
}

const arenaBlock = 64 << 10

func (a *stringArena) copy(s string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > arenaBlock/8 {
		return string([]byte(s))
	}
	if len(a.block)+len(s) > cap(a.block) {
		a.block = make([]byte, 0, arenaBlock)
	}
	start := len(a.block)
	a.block = append(a.block, s...)
	// The bytes of a block are never written again once appended, so the
	// string is immutable as Go requires.
	return unsafe.String(&a.block[start], len(s))
}
