package apkfile

import (
	"bytes"
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

// rest hands over what is left: the bytes not yet consumed, then the
// source. The member reader is not used afterwards.
func (m *memberReader) rest() io.Reader {
	left := bytes.NewReader(m.buf[m.pos:m.end])
	m.start, m.pos = m.end, m.end
	if m.err != nil {
		return left
	}
	return io.MultiReader(left, m.src)
}
