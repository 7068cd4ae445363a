package solver

// nameTable interns names: an open-addressing hash table of name ids,
// smaller than a map[string]*Name for the ~50k names of a full Alpine
// repository (the strings themselves live in the Names).
type nameTable struct {
	slots []int32 // name id + 1; 0 is empty
	list  *[]*Name
}

const nameSeed = 0x9747b28c

func (t *nameTable) lookup(s string) *Name { return lookupName(t, s) }

// lookupBytes is lookup for a byte slice, without allocating.
func (t *nameTable) lookupBytes(b []byte) *Name { return lookupName(t, b) }

func lookupName[T string | []byte](t *nameTable, s T) *Name {
	if len(t.slots) == 0 {
		return nil
	}
	mask := uint32(len(t.slots) - 1)
	for i := murmur3(s, nameSeed) & mask; ; i = (i + 1) & mask {
		id := t.slots[i]
		if id == 0 {
			return nil
		}
		if n := (*t.list)[id-1]; n.Name == string(s) {
			return n
		}
	}
}

func (t *nameTable) insert(n *Name) {
	if (len(*t.list))*4 >= len(t.slots)*3 {
		t.grow()
	}
	t.place(n)
}

func (t *nameTable) place(n *Name) {
	mask := uint32(len(t.slots) - 1)
	i := murmur3(n.Name, nameSeed) & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = n.id + 1
}

func (t *nameTable) grow() {
	size := 1024
	for size*3 <= len(*t.list)*4+4 {
		size *= 2
	}
	if size <= len(t.slots) {
		size = len(t.slots) * 2
	}
	t.slots = make([]int32, size)
	for _, n := range *t.list {
		if n != nil && int(n.id) < len(*t.list) {
			t.place(n)
		}
	}
}
