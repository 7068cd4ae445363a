//go:build linux

package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/btrfs"
)

// A settler makes the kernel write the store into btrfs the same way
// every time, so that two images of one generation come out identical
// once normalized (package btrfsnorm). Left to itself, the kernel
// allocates and records data when its writeback and I/O completion
// threads get to it, flushes delayed items in the background once 128
// are pending, and, when metadata reservations run short, hands work to
// a reclaim thread that releases the waiting writer somewhere in the
// middle of its run: all of it depends on timing, and so would where
// blocks land. The settler leaves the kernel nothing to do on its own:
//
//   - each file's data is flushed and recorded (btrfs.Flush) before the
//     next is written, every settleDataBytes of it;
//   - the transaction is committed (btrfs.Commit) every settleEntries
//     entries or settleCommitBytes of data, well before 128 delayed
//     items, and whenever what the metadata chunks have left for
//     reservations falls below settleHeadroom tree items' worth (the
//     kernel reserves 16 tree blocks per item it may insert: 3.75 MiB
//     for a mkdir, with 16 KiB blocks), so that no reservation ever
//     waits. Overcommitting into unallocated space, which the kernel
//     allows by rules that change between versions, is not counted on.
//
// Data chunks are then allocated by the writer's own system calls, in
// order. One thing is left to a kernel thread: when the metadata the
// tree needs outgrows the metadata chunk mkfs.btrfs made (32 MiB, or 5 %
// of a file system over 640 MiB: some 60,000 small files), even right
// after a commit there is no headroom, a reservation waits, and the
// reclaim thread allocates the next chunk, releasing the writer a moment
// before it is done. On a quiet machine two such images came out
// identical; under load they did not. The settler reports it
// (metadataGrew), so that the writer can say so.
//
// What the settler cannot prevent is a commit from outside: sync(2) by
// any process on the machine commits every file system, wherever the
// writer is. While it watches (from watch until the next call to
// unwatch), it notices one as a gap in the transaction ids of its own
// commits, and then fails with errDisturbed if strict.
type settler struct {
	fs      string // a path in the file system
	space   *metadataSpace
	strict  bool
	entries int
	bytes   int64
	commits int
	// last is the id of the transaction the last commit committed;
	// watching says whether the settler's are the only commits expected;
	// disturbed that another one happened while it watched.
	last                uint64
	watching, disturbed bool
	// metadata is the metadata chunks' size when watching began;
	// metadataGrew says they grew while the settler watched.
	metadata     int64
	metadataGrew bool
}

// errDisturbed says that the file system's transaction was committed by
// something else than the settler while it watched.
var errDisturbed = errors.New("a commit from outside (sync(2) by another process?) interrupted the copy of the generation")

const (
	settleEntries     = 32
	settleDataBytes   = 8 << 20
	settleCommitBytes = 64 << 20
	settleHeadroom    = 32 // tree items
)

// newSettler paces writes into the btrfs file system holding fs. Close
// releases it.
func newSettler(fs string, strict bool) (*settler, error) {
	info, err := btrfs.FileSystemInfo(fs)
	if err != nil {
		return nil, err
	}
	space, err := openMetadataSpace(info)
	if err != nil {
		return nil, err
	}
	return &settler{fs: fs, space: space, strict: strict}, nil
}

func (s *settler) Close() error { return s.space.Close() }

// entry counts an entry written, committing when it is time.
func (s *settler) entry() error {
	s.entries++
	if s.entries >= settleEntries || s.bytes >= settleCommitBytes {
		return s.commit()
	}
	room, err := s.space.headroom()
	if err != nil {
		return err
	}
	if room < s.space.need {
		return s.commit()
	}
	return nil
}

// wrote flushes what was written of f (n bytes since the last call),
// committing when it is time.
func (s *settler) wrote(f *os.File, n int64) error {
	if err := btrfs.Flush(f); err != nil {
		return err
	}
	s.bytes += n
	if s.bytes >= settleCommitBytes {
		return s.commit()
	}
	return nil
}

func (s *settler) commit() error {
	id, err := btrfs.Commit(s.fs)
	if err != nil {
		return err
	}
	if s.watching && id > s.last+1 {
		s.disturbed = true
	}
	s.last = id
	s.entries, s.bytes = 0, 0
	s.commits++
	if s.disturbed && s.strict {
		return errDisturbed
	}
	return nil
}

// watch commits and watches from there on for commits by others.
func (s *settler) watch() error {
	s.watching = false
	if err := s.commit(); err != nil {
		return err
	}
	var err error
	s.metadata, err = s.space.read(s.space.total)
	s.watching = true
	return err
}

// unwatch commits and stops watching.
func (s *settler) unwatch() error {
	err := s.commit()
	s.watching = false
	if err != nil {
		return err
	}
	total, err := s.space.read(s.space.total)
	s.metadataGrew = total > s.metadata
	return err
}

// metadataSpace reads a mounted btrfs's metadata space accounting from
// /sys/fs/btrfs/FSID/allocation/metadata, keeping the files open.
type metadataSpace struct {
	total *os.File
	taken []*os.File // used, reserved, pinned, read-only, unusable, promised
	buf   []byte
	// need is the headroom the settler keeps, in bytes.
	need int64
}

func openMetadataSpace(fs btrfs.FileSystem) (*metadataSpace, error) {
	dir := filepath.Join("/sys/fs/btrfs", fs.FSID.String(), "allocation", "metadata")
	m := &metadataSpace{buf: make([]byte, 32), need: settleHeadroom * 16 * int64(fs.NodeSize)}
	var err error
	if m.total, err = os.Open(filepath.Join(dir, "total_bytes")); err != nil {
		return nil, err
	}
	for _, name := range []string{"bytes_used", "bytes_reserved", "bytes_pinned", "bytes_readonly", "bytes_zone_unusable", "bytes_may_use"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, errors.Join(err, m.Close())
		}
		m.taken = append(m.taken, f)
	}
	return m, nil
}

func (m *metadataSpace) Close() error {
	errs := []error{m.total.Close()}
	for _, f := range m.taken {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// headroom is what the metadata chunks have left for reservations.
func (m *metadataSpace) headroom() (int64, error) {
	room, err := m.read(m.total)
	for _, f := range m.taken {
		n, rerr := m.read(f)
		room -= n
		err = errors.Join(err, rerr)
	}
	return room, err
}

// read reads a sysfs number again (a read from offset 0 renews it).
func (m *metadataSpace) read(f *os.File) (int64, error) {
	n, err := f.ReadAt(m.buf, 0)
	if n == 0 && err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name(), err)
	}
	v, perr := strconv.ParseInt(strings.TrimSpace(string(m.buf[:n])), 10, 64)
	if perr != nil {
		return 0, fmt.Errorf("%s: %w", f.Name(), perr)
	}
	return v, nil
}
