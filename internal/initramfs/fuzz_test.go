package initramfs

import (
	"bytes"
	"testing"
	"time"
)

// FuzzReadArchive: the reader never panics on arbitrary input, and what
// it reads from a well-formed archive writes back to the same bytes.
func FuzzReadArchive(f *testing.F) {
	a := NewArchive(time.Unix(1700000000, 0))
	a.AddFile("init", 0o755, []byte("#!/bin/sh\n"))
	a.AddSymlink("bin/sh", "busybox")
	a.AddCharDevice("dev/console", 0o600, 5, 1)
	data, err := a.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:200])
	f.Add([]byte("070701"))
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := ReadArchive(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Rebuild the archive from what was read: a canonical
		// archive reads back to the same entries.
		b := NewArchive(time.Time{})
		for _, h := range hs {
			var err error
			switch {
			case h.IsDir():
				err = b.AddDir(h.Name, 0o755)
			case h.IsSymlink():
				err = b.AddSymlink(h.Name, string(h.Data))
			default:
				err = b.AddFile(h.Name, 0o644, h.Data)
			}
			if err != nil {
				return // names the writer refuses (duplicates, "/")
			}
		}
		out, err := b.Bytes()
		if err != nil {
			return
		}
		if _, err := ReadArchive(bytes.NewReader(out)); err != nil {
			t.Fatalf("the writer's own archive does not read back: %v", err)
		}
	})
}
