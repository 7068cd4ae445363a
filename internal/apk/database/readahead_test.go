package database

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadahead(t *testing.T) {
	data := make([]byte, 3*readaheadBlock+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(data)},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data))},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(data))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra := newReadahead(tc.r)
			got, err := io.ReadAll(iotest.HalfReader(ra))
			ra.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, err %v; want %d bytes", len(got), err, len(data))
			}
		})
	}
	boom := errors.New("boom")
	ra := newReadahead(io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(boom)))
	got, err := io.ReadAll(ra)
	ra.Close()
	if !errors.Is(err, boom) || len(got) != 1000 {
		t.Fatalf("error case: %d bytes, %v", len(got), err)
	}
	// Closing before the end stops the reader.
	ra = newReadahead(bytes.NewReader(data))
	ra.Read(make([]byte, 10))
	ra.Close()
}
