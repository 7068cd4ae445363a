package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// maxAttempts bounds the transfers of one package in one Fetch: resuming
// after interruptions, and starting afresh when a resumed file does not
// verify.
const maxAttempts = 3

// retryError reports a transfer that may succeed when tried again: it was
// interrupted (the partial file is kept and resumed), or the server could
// not resume it (the partial file was emptied).
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }

func (e *retryError) Unwrap() error { return e.err }

// download fetches j.url into j.dest. The bytes go to <dest>.part, which
// survives interruptions and is resumed with a Range request; it becomes
// dest only once it verifies.
func (c *Client) download(ctx context.Context, j *fetchJob, prog *progress) (err error) {
	part := j.dest + ".part"
	defer func() {
		if err != nil {
			removeIfEmpty(part)
		}
	}()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		var resumed bool
		resumed, err = c.transfer(ctx, j, part, prog)
		var re *retryError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &re):
			continue
		case err != nil:
			return err
		}
		err = verifyFile(ctx, part, j.req.Pkg, c.options(), true)
		if err == nil {
			return os.Rename(part, j.dest)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		os.Remove(part)
		j.credit(prog, 0)
		if !resumed {
			return err
		}
		// The kept bytes may have come from a different file at the
		// same URL: start again from nothing.
	}
	return err
}

// transfer appends the rest of the package to the partial file. resumed
// reports whether the file held bytes from before this transfer.
func (c *Client) transfer(ctx context.Context, j *fetchJob, part string, prog *progress) (resumed bool, err error) {
	size := j.req.Pkg.Size
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return false, err
	}
	if size > 0 && offset == size {
		// Complete but not yet verified when the last run stopped.
		j.credit(prog, offset)
		return true, nil
	}
	if size > 0 && offset > size {
		if offset, err = restart(f); err != nil {
			return false, err
		}
	}
	j.credit(prog, offset)

	header := http.Header{}
	if offset > 0 {
		header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.get(ctx, j.url, header)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if offset > 0 { // the server ignored the range
			if offset, err = restart(f); err != nil {
				return false, err
			}
			j.credit(prog, 0)
		}
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			restart(f)
			j.credit(prog, 0)
			return false, &retryError{fmt.Errorf("server sent range %q for a request from byte %d", resp.Header.Get("Content-Range"), offset)}
		}
		if total >= 0 && size > 0 && total != size {
			os.Remove(part)
			return false, sizeMismatch(total, size)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// The partial file is not a prefix of what the server has.
		restart(f)
		j.credit(prog, 0)
		return false, &retryError{errors.New("server refused to resume the download")}
	default:
		return false, &StatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	resumed = offset > 0

	// Never take more than the index says the package has.
	body := io.Reader(resp.Body)
	if size > 0 {
		body = io.LimitReader(resp.Body, size-offset)
	}
	have, err := copyBody(f, body, offset, func(n int64) { j.credit(prog, n) })
	if err != nil {
		return resumed, err
	}
	if size > 0 && have == size {
		var one [1]byte
		if n, _ := io.ReadFull(resp.Body, one[:]); n > 0 {
			os.Remove(part)
			if resp.ContentLength >= 0 {
				return resumed, sizeMismatch(offset+resp.ContentLength, size)
			}
			return resumed, fmt.Errorf("size more than %d bytes, index says %d", size, size)
		}
	}
	return resumed, nil
}

// removeIfEmpty deletes a partial file that holds nothing worth resuming.
func removeIfEmpty(path string) {
	if st, err := os.Stat(path); err == nil && st.Size() == 0 {
		os.Remove(path)
	}
}

// restart empties the partial file.
func restart(f *os.File) (int64, error) {
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	return f.Seek(0, io.SeekStart)
}

// copyBody appends the response body to f, reporting the file's length as
// it grows. A failed read is an interruption; a failed write is not.
func copyBody(f *os.File, body io.Reader, have int64, report func(int64)) (int64, error) {
	buf := make([]byte, 64<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return have, err
			}
			have += int64(n)
			report(have)
		}
		switch {
		case rerr == io.EOF:
			return have, nil
		case rerr != nil:
			return have, &retryError{fmt.Errorf("download interrupted after %d bytes (kept to resume): %w", have, netError(rerr))}
		}
	}
}

// parseContentRange reads "bytes start-end/total"; total is -1 for "*".
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, last, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		var err error
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total <= end {
			return 0, 0, false
		}
	}
	return start, total, true
}
