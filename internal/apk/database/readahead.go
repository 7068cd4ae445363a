package database

import (
	"context"
	"io"
)

// ctxReader fails reads once ctx is done, so that loading a large index
// stops soon after a signal.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// readahead reads r in a goroutine, a few blocks ahead of the consumer, so
// that decompressing an index overlaps with parsing it.
type readahead struct {
	blocks chan []byte
	free   chan []byte
	block  []byte // the block being read, whole
	cur    []byte // its unread rest
	err    error
	errc   chan error
	done   chan struct{}
}

const (
	readaheadBlock = 64 << 10
	readaheadDepth = 2
)

func newReadahead(r io.Reader) *readahead {
	ra := &readahead{
		blocks: make(chan []byte, readaheadDepth),
		free:   make(chan []byte, readaheadDepth+1),
		errc:   make(chan error, 1),
		done:   make(chan struct{}),
	}
	for i := 0; i < readaheadDepth+1; i++ {
		ra.free <- make([]byte, readaheadBlock)
	}
	go func() {
		defer close(ra.blocks)
		for {
			var buf []byte
			select {
			case buf = <-ra.free:
			case <-ra.done:
				return
			}
			n, err := io.ReadFull(r, buf)
			if n > 0 {
				select {
				case ra.blocks <- buf[:n]:
				case <-ra.done:
					return
				}
			}
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			if err != nil {
				ra.errc <- err
				return
			}
		}
	}()
	return ra
}

func (ra *readahead) Read(p []byte) (int, error) {
	if len(ra.cur) == 0 {
		if ra.block != nil {
			ra.free <- ra.block[:cap(ra.block)]
			ra.block = nil
		}
		b, ok := <-ra.blocks
		if !ok {
			if ra.err == nil {
				ra.err = <-ra.errc
			}
			return 0, ra.err
		}
		ra.block, ra.cur = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the reading goroutine.
func (ra *readahead) Close() {
	select {
	case <-ra.done:
	default:
		close(ra.done)
	}
	for range ra.blocks {
	}
}
