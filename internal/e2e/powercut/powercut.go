// Package powercut is a disk for power-cut tests: an NBD server (the
// protocol qemu's nbd: drives speak) over an image file, whose writes
// reach the file only when the guest flushes them, as with a disk's
// volatile write cache. Cut ends every connection and keeps a random
// subset of the writes not flushed yet — what a real disk may have
// written before the power went, in any order — and drops the rest.
// Killing qemu alone would not do: its writes are in the host's page
// cache the moment it makes them, flushed or not.
//
// The protocol is the fixed newstyle handshake with NBD_OPT_GO (and
// NBD_OPT_EXPORT_NAME), simple replies, and the commands READ, WRITE
// (with FUA), FLUSH, TRIM, WRITE_ZEROES and DISC: what qemu uses
// (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md).
package powercut

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
)

const sector = 512

// Disk is the image file and the writes the guest has not flushed.
type Disk struct {
	mu      sync.Mutex
	f       *os.File
	size    int64
	pending []write          // in the order the guest wrote them
	overlay map[int64][]byte // sector -> its newest pending content
	stats   Stats
	conns   map[net.Conn]bool
	ln      net.Listener
}

// Stats counts what the guest did.
type Stats struct {
	Writes, Flushes, FUAWrites int
	// Kept and Dropped are the unflushed writes the cuts kept and
	// dropped.
	Kept, Dropped int
}

type write struct {
	off  int64
	data []byte
	// durable is a write the guest made with FUA (forced unit access):
	// it survives any cut.
	durable bool
}

// Open serves the image file at path.
func Open(path string) (*Disk, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size()%sector != 0 {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of sectors", path, fi.Size())
	}
	return &Disk{f: f, size: fi.Size(), overlay: map[int64][]byte{}, conns: map[net.Conn]bool{}}, nil
}

// Listen serves the disk on a TCP port of 127.0.0.1 and returns qemu's
// name for it (nbd:127.0.0.1:PORT), until Close.
func (d *Disk) Listen() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.ln = ln
	d.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.mu.Lock()
			d.conns[c] = true
			d.mu.Unlock()
			go func() {
				d.serve(c)
				c.Close()
				d.mu.Lock()
				delete(d.conns, c)
				d.mu.Unlock()
			}()
		}
	}()
	return fmt.Sprintf("nbd:127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port), nil
}

// Cut is the power going off: every connection ends, each write not yet
// flushed reaches the image with probability keep (0 drops them all),
// chosen by rng, in the order they were made; the rest are lost.
func (d *Disk) Cut(rng *rand.Rand, keep float64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.conns {
		c.Close()
	}
	var errs []error
	for _, w := range d.pending {
		if w.durable || rng.Float64() < keep {
			if _, err := d.f.WriteAt(w.data, w.off); err != nil {
				errs = append(errs, err)
			}
			d.stats.Kept++
		} else {
			d.stats.Dropped++
		}
	}
	d.pending, d.overlay = nil, map[int64][]byte{}
	return errors.Join(errs...)
}

// Stats returns the counts so far.
func (d *Disk) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Close stops serving and closes the image. Writes not flushed are
// dropped, as Cut with keep 0 would.
func (d *Disk) Close() error {
	d.mu.Lock()
	if d.ln != nil {
		d.ln.Close()
	}
	d.mu.Unlock()
	d.Cut(rand.New(rand.NewPCG(0, 0)), 0)
	return d.f.Close()
}

func (d *Disk) read(p []byte, off int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.f.ReadAt(p, off); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	for s := off / sector; s*sector < off+int64(len(p)); s++ {
		data, ok := d.overlay[s]
		if !ok {
			continue
		}
		// The part of sector s inside [off, off+len(p)).
		from := max(s*sector, off)
		to := min((s+1)*sector, off+int64(len(p)))
		copy(p[from-off:to-off], data[from-s*sector:to-s*sector])
	}
	return nil
}

// pendWrite records a write the guest has not flushed.
func (d *Disk) pendWrite(p []byte, off int64, fua bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Writes++
	if fua {
		d.stats.FUAWrites++
	}
	data := append([]byte(nil), p...)
	d.pending = append(d.pending, write{off: off, data: data, durable: fua})
	for s := off / sector; s*sector < off+int64(len(p)); s++ {
		cur, ok := d.overlay[s]
		if !ok {
			cur = make([]byte, sector)
			// A partial sector keeps what the disk shows now.
			if off > s*sector || off+int64(len(p)) < (s+1)*sector {
				if _, err := d.f.ReadAt(cur, s*sector); err != nil && !errors.Is(err, io.EOF) {
					return err
				}
			}
		}
		from := max(s*sector, off)
		to := min((s+1)*sector, off+int64(len(p)))
		copy(cur[from-s*sector:to-s*sector], data[from-off:to-off])
		d.overlay[s] = cur
	}
	return nil
}

// flush makes every pending write durable, in order.
func (d *Disk) flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Flushes++
	for _, w := range d.pending {
		if _, err := d.f.WriteAt(w.data, w.off); err != nil {
			return err
		}
	}
	d.pending, d.overlay = nil, map[int64][]byte{}
	return nil
}

// The protocol's numbers.
const (
	nbdMagic        = 0x4e42444d41474943 // "NBDMAGIC"
	optMagic        = 0x49484156454f5054 // "IHAVEOPT"
	replyMagic      = 0x3e889045565a9
	requestMagic    = 0x25609513
	simpleReplyMagc = 0x67446698

	flagFixedNewstyle = 1 << 0
	flagNoZeroes      = 1 << 1

	optExportName = 1
	optAbort      = 2
	optInfo       = 6
	optGo         = 7

	repAck      = 1
	repInfo     = 3
	repErrUnsup = 1<<31 + 1

	infoExport = 0

	// Transmission flags: flags given, flush and FUA supported, trim.
	tflagHasFlags  = 1 << 0
	tflagSendFlush = 1 << 2
	tflagSendFUA   = 1 << 3
	tflagSendTrim  = 1 << 5
	tflagSendZero  = 1 << 6
	transmitFlags  = tflagHasFlags | tflagSendFlush | tflagSendFUA | tflagSendTrim | tflagSendZero

	cmdRead        = 0
	cmdWrite       = 1
	cmdDisc        = 2
	cmdFlush       = 3
	cmdTrim        = 4
	cmdWriteZeroes = 6
	cmdFlagFUA     = 1 << 0

	errIO    = 5
	errInval = 22
)

var be = binary.BigEndian

func (d *Disk) serve(c net.Conn) {
	if err := d.handshake(c); err != nil {
		return
	}
	hdr := make([]byte, 28)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		if be.Uint32(hdr[0:]) != requestMagic {
			return
		}
		flags, typ := be.Uint16(hdr[4:]), be.Uint16(hdr[6:])
		handle := hdr[8:16]
		off, n := int64(be.Uint64(hdr[16:])), int64(be.Uint32(hdr[24:]))
		inRange := off >= 0 && n >= 0 && off+n <= d.size
		var data []byte
		var code uint32
		switch typ {
		case cmdRead:
			if !inRange {
				code = errInval
				break
			}
			data = make([]byte, n)
			if err := d.read(data, off); err != nil {
				code, data = errIO, nil
			}
		case cmdWrite:
			buf := make([]byte, n)
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if !inRange {
				code = errInval
			} else if err := d.pendWrite(buf, off, flags&cmdFlagFUA != 0); err != nil {
				code = errIO
			}
		case cmdWriteZeroes:
			if !inRange {
				code = errInval
			} else if err := d.pendWrite(make([]byte, n), off, flags&cmdFlagFUA != 0); err != nil {
				code = errIO
			}
		case cmdFlush:
			if err := d.flush(); err != nil {
				code = errIO
			}
		case cmdTrim:
			// Trimmed data may read as anything: leaving it is allowed.
		case cmdDisc:
			return
		default:
			code = errInval
		}
		reply := make([]byte, 16, 16+len(data))
		be.PutUint32(reply[0:], simpleReplyMagc)
		be.PutUint32(reply[4:], code)
		copy(reply[8:], handle)
		if _, err := c.Write(append(reply, data...)); err != nil {
			return
		}
	}
}

// handshake does the fixed newstyle negotiation up to the transmission
// phase.
func (d *Disk) handshake(c net.Conn) error {
	hello := make([]byte, 18)
	be.PutUint64(hello[0:], nbdMagic)
	be.PutUint64(hello[8:], optMagic)
	be.PutUint16(hello[16:], flagFixedNewstyle|flagNoZeroes)
	if _, err := c.Write(hello); err != nil {
		return err
	}
	var cflags [4]byte
	if _, err := io.ReadFull(c, cflags[:]); err != nil {
		return err
	}
	noZeroes := be.Uint32(cflags[:])&flagNoZeroes != 0
	for {
		var h [16]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			return err
		}
		if be.Uint64(h[0:]) != optMagic {
			return errors.New("bad option magic")
		}
		opt, n := be.Uint32(h[8:]), be.Uint32(h[12:])
		if n > 1<<16 {
			return errors.New("option too long")
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(c, data); err != nil {
			return err
		}
		switch opt {
		case optExportName:
			msg := make([]byte, 10)
			be.PutUint64(msg[0:], uint64(d.size))
			be.PutUint16(msg[8:], transmitFlags)
			if !noZeroes {
				msg = append(msg, make([]byte, 124)...)
			}
			_, err := c.Write(msg)
			return err
		case optGo, optInfo:
			info := make([]byte, 12)
			be.PutUint16(info[0:], infoExport)
			be.PutUint64(info[2:], uint64(d.size))
			be.PutUint16(info[10:], transmitFlags)
			if err := optReply(c, opt, repInfo, info); err != nil {
				return err
			}
			if err := optReply(c, opt, repAck, nil); err != nil {
				return err
			}
			if opt == optGo {
				return nil
			}
		case optAbort:
			optReply(c, opt, repAck, nil)
			return errors.New("client aborted")
		default:
			if err := optReply(c, opt, repErrUnsup, nil); err != nil {
				return err
			}
		}
	}
}

func optReply(c net.Conn, opt, typ uint32, data []byte) error {
	msg := make([]byte, 20, 20+len(data))
	be.PutUint64(msg[0:], replyMagic)
	be.PutUint32(msg[8:], opt)
	be.PutUint32(msg[12:], typ)
	be.PutUint32(msg[16:], uint32(len(data)))
	_, err := c.Write(append(msg, data...))
	return err
}
