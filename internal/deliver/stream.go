package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// reply is what a receiver writes back on a stream: a request for data,
// or the result (which ends the delivery, with or without an error).
type reply struct {
	Request *Request `json:"request,omitempty"`
	Result  *Result  `json:"result,omitempty"`
}

// Push delivers p over a connection to a receiver running ReceiveStream
// (cairn receive at the other end of ssh): r and w are the connection's
// two directions.
func Push(ctx context.Context, p *Prepared, r io.Reader, w io.Writer) (Result, error) {
	if err := p.WriteOffer(w); err != nil {
		return Result{}, readFailure(r, fmt.Errorf("send the offer: %w", err))
	}
	var rep reply
	if err := readMessage(r, &rep); err != nil {
		return Result{}, fmt.Errorf("read the receiver's answer: %w", err)
	}
	if rep.Result == nil {
		if rep.Request == nil {
			return Result{}, errors.New("the receiver answered neither a request nor a result")
		}
		if err := p.WriteData(ctx, w, *rep.Request); err != nil {
			return Result{}, readFailure(r, fmt.Errorf("send the data: %w", err))
		}
		rep = reply{}
		if err := readMessage(r, &rep); err != nil {
			return Result{}, fmt.Errorf("read the receiver's result: %w", err)
		}
		if rep.Result == nil {
			return Result{}, errors.New("the receiver sent no result")
		}
	}
	if rep.Result.Error != "" {
		return *rep.Result, receiverError(*rep.Result)
	}
	return *rep.Result, nil
}

// ReceiverError is the receiver's own account of its failure. It wraps
// ErrUntrusted or ErrTampered when the receiver refused the generation
// for that.
type ReceiverError struct {
	Message string
	reason  error
}

func (e *ReceiverError) Error() string { return "the receiver refused: " + e.Message }
func (e *ReceiverError) Unwrap() error { return e.reason }

func receiverError(r Result) *ReceiverError {
	e := &ReceiverError{Message: r.Error}
	switch r.Refused {
	case refusedUntrusted:
		e.reason = ErrUntrusted
	case refusedTampered:
		e.reason = ErrTampered
	}
	return e
}

const (
	refusedUntrusted = "untrusted"
	refusedTampered  = "tampered"
)

// readFailure prefers the receiver's reason, when it wrote one before it
// stopped reading, to the write error it caused.
func readFailure(r io.Reader, err error) error {
	var rep reply
	if readMessage(r, &rep) == nil && rep.Result != nil && rep.Result.Error != "" {
		return receiverError(*rep.Result)
	}
	return err
}

// ReceiveStream runs one delivery driven by a sender on a connection
// (cairn receive's standard input and output) and writes the result,
// or the error, back to it.
func (rc *Receiver) ReceiveStream(ctx context.Context, r io.Reader, w io.Writer) (Result, error) {
	res, err := rc.Receive(ctx, &streamSource{r: r, w: w})
	out := res
	if err != nil {
		out = Result{Error: err.Error()}
		switch {
		case errors.Is(err, ErrUntrusted):
			out.Refused = refusedUntrusted
		case errors.Is(err, ErrTampered):
			out.Refused = refusedTampered
		}
		// The sender may still be writing what this side no longer
		// reads: keep reading, so that it gets to read the answer.
		go io.Copy(io.Discard, r)
	}
	if werr := writeMessage(w, reply{Result: &out}); werr != nil && err == nil {
		err = fmt.Errorf("send the result: %w", werr)
	}
	return res, err
}

type streamSource struct {
	r    io.Reader
	w    io.Writer
	last *streamReader
}

func (s *streamSource) Offer(context.Context) (io.Reader, error) { return s.r, nil }

func (s *streamSource) Data(_ context.Context, req Request) (io.Reader, error) {
	if err := writeMessage(s.w, reply{Request: &req}); err != nil {
		return nil, err
	}
	s.last = &streamReader{r: s.r}
	return s.last, nil
}
