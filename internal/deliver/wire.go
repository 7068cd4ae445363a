package deliver

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// The wire: frames of a 4-byte big-endian length and that many bytes. A
// message is one frame of JSON; a stream is frames of data ended by an
// empty frame.

const (
	maxMessage = 64 << 20
	chunkSize  = 256 << 10
)

func writeFrame(w io.Writer, data []byte) error {
	frame := make([]byte, 4, 4+len(data))
	binary.BigEndian.PutUint32(frame, uint32(len(data)))
	_, err := w.Write(append(frame, data...))
	return err
}

func readFrame(r io.Reader, max int) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	size := int(binary.BigEndian.Uint32(n[:]))
	if size > max {
		return nil, fmt.Errorf("a frame of %d bytes, more than %d", size, max)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return data, nil
}

func writeMessage(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFrame(w, data)
}

func readMessage(r io.Reader, v any) error {
	data, err := readFrame(r, maxMessage)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// streamWriter writes a stream as frames; Close writes the empty frame
// that ends it.
type streamWriter struct {
	w   io.Writer
	buf []byte
}

func newStreamWriter(w io.Writer) *streamWriter {
	return &streamWriter{w: w, buf: make([]byte, 0, chunkSize)}
}

func (s *streamWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), chunkSize-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == chunkSize {
			if err := s.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (s *streamWriter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	err := writeFrame(s.w, s.buf)
	s.buf = s.buf[:0]
	return err
}

func (s *streamWriter) Close() error {
	if err := s.flush(); err != nil {
		return err
	}
	return writeFrame(s.w, nil)
}

// streamReader reads a stream's frames up to the empty frame, then
// reports io.EOF.
type streamReader struct {
	r    io.Reader
	cur  []byte
	done bool
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.done {
			return 0, io.EOF
		}
		f, err := readFrame(s.r, chunkSize)
		if err != nil {
			return 0, err
		}
		if len(f) == 0 {
			s.done = true
			return 0, io.EOF
		}
		s.cur = f
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// drain reads the rest of the stream, so the next message can be read.
func (s *streamReader) drain() error {
	_, err := io.Copy(io.Discard, s)
	return err
}

// Counter counts the bytes that pass through a connection, both ways.
type Counter struct {
	sent, received atomic.Int64
}

// Sent and Received are the bytes written and read so far.
func (c *Counter) Sent() int64     { return c.sent.Load() }
func (c *Counter) Received() int64 { return c.received.Load() }

// Reader and Writer wrap r and w to count through c.
func (c *Counter) Reader(r io.Reader) io.Reader { return countReader{r, &c.received} }
func (c *Counter) Writer(w io.Writer) io.Writer { return countWriter{w, &c.sent} }

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
