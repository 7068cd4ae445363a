package solver

import "hash/maphash"

// nameTable interns names: an open-addressing hash table of name ids,
// smaller than a map[string]*Name for the ~50k names of a full Alpine
// repository (the strings themselves live in the Names). Each slot keeps
// the name's hash, so a probe compares strings only on a likely match.
type nameTable struct {
	seed  maphash.Seed
	slots []nameSlot
	list  *[]*Name
}

type nameSlot struct {
	id   int32 // name id + 1; 0 is empty
	hash uint32
}

func (t *nameTable) lookup(s string) *Name {
	if len(t.slots) == 0 {
		return nil
	}
	return t.find(uint32(maphash.String(t.seed, s)), s)
}

// lookupBytes is lookup for a byte slice, without allocating.
func (t *nameTable) lookupBytes(b []byte) *Name {
	if len(t.slots) == 0 {
		return nil
	}
	h := uint32(maphash.Bytes(t.seed, b))
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := t.slots[i]
		if sl.id == 0 {
			return nil
		}
		if sl.hash == h {
			if n := (*t.list)[sl.id-1]; n.Name == string(b) {
				return n
			}
		}
	}
}

func (t *nameTable) find(h uint32, s string) *Name {
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := t.slots[i]
		if sl.id == 0 {
			return nil
		}
		if sl.hash == h {
			if n := (*t.list)[sl.id-1]; n.Name == s {
				return n
			}
		}
	}
}

func (t *nameTable) insert(n *Name) {
	if len(*t.list)*2 >= len(t.slots) {
		t.grow()
	}
	t.place(n, uint32(maphash.String(t.seed, n.Name)))
}

func (t *nameTable) place(n *Name, h uint32) {
	mask := uint32(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].id != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = nameSlot{id: n.id + 1, hash: h}
}

// grow doubles the table (at most half full keeps probes short).
func (t *nameTable) grow() { t.resize(max(1024, len(t.slots)*2)) }

// reserve sizes the table for n names.
func (t *nameTable) reserve(n int) {
	size := max(1024, len(t.slots))
	for n*2 >= size {
		size *= 2
	}
	if size > len(t.slots) {
		t.resize(size)
	}
}

func (t *nameTable) resize(size int) {
	if len(t.slots) == 0 {
		t.seed = maphash.MakeSeed()
	}
	old := t.slots
	t.slots = make([]nameSlot, size)
	for _, sl := range old {
		if sl.id != 0 {
			t.place((*t.list)[sl.id-1], sl.hash)
		}
	}
}
