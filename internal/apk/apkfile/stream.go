package apkfile

import (
	"io"
)

// memberReader feeds a gzip decompressor byte by byte (it implements
// io.ByteReader, so the decompressor never reads past a member's end) and
// hashes the compressed bytes it hands out, in bulk, into the current sink.
// That is how the hashes over individual gzip members are computed in one
// streaming pass.
type memberReader struct {
	src      io.Reader
	buf      []byte
	start    int // buf[start:pos] is consumed but not yet hashed
	pos, end int
	sink     io.Writer
	consumed int64
	err      error
}

func newMemberReader(src io.Reader) *memberReader {
	return &memberReader{src: src, buf: make([]byte, 64<<10)}
}

func (m *memberReader) flush() {
	if m.pos > m.start {
		if m.sink != nil {
			m.sink.Write(m.buf[m.start:m.pos])
		}
		m.consumed += int64(m.pos - m.start)
		m.start = m.pos
	}
}

// setSink flushes what was consumed so far to the old sink and sends
// what follows to w.
func (m *memberReader) setSink(w io.Writer) {
	m.flush()
	m.sink = w
}

func (m *memberReader) fill() error {
	if m.err != nil {
		return m.err
	}
	m.flush()
	n, err := m.src.Read(m.buf)
	m.start, m.pos, m.end = 0, 0, n
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		m.err = err
		return err
	}
	return nil
}

func (m *memberReader) ReadByte() (byte, error) {
	if m.pos == m.end {
		if err := m.fill(); err != nil {
			return 0, err
		}
	}
	b := m.buf[m.pos]
	m.pos++
	return b, nil
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.pos == m.end {
		if err := m.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, m.buf[m.pos:m.end])
	m.pos += n
	return n, nil
}

// atEOF reports whether the source has no more bytes.
func (m *memberReader) atEOF() bool {
	if m.pos < m.end {
		return false
	}
	return m.fill() != nil
}

// total returns the number of compressed bytes consumed.
func (m *memberReader) total() int64 { return m.consumed + int64(m.pos-m.start) }
