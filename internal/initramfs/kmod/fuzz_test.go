package kmod

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseDep: modules.dep parsing never panics, and whatever it
// accepts orders without panicking (a cycle is an error, not a hang).
func FuzzParseDep(f *testing.F) {
	f.Add("kernel/a.ko: kernel/b.ko.xz kernel/c-d.ko\nkernel/b.ko.xz: kernel/c-d.ko\nkernel/c-d.ko:\n", "softdep a pre: c_d post: b\n")
	f.Add("kernel/a.ko: kernel/a.ko\n", "")
	f.Add("kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n", "softdep b pre: a\n")
	f.Fuzz(func(t *testing.T, dep, softdep string) {
		d, err := ParseDep(strings.NewReader(dep))
		if err != nil {
			return
		}
		pre := map[string][]string{}
		if s, err := ParseSoftdep(strings.NewReader(softdep)); err == nil {
			for n, sd := range s {
				pre[n] = sd.Pre
			}
		}
		order, err := LoadOrder(d.Order, d.Deps, pre)
		if err != nil {
			return
		}
		if len(order) != len(d.Order) {
			t.Fatalf("ordered %d of %d modules", len(order), len(d.Order))
		}
	})
}

// FuzzReadInfo: reading .modinfo from arbitrary bytes never panics.
func FuzzReadInfo(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Add(bytes.Repeat([]byte{0}, 128))
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadInfo(bytes.NewReader(data))
		ParseBuiltinInfo(data)
	})
}
