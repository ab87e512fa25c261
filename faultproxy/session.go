package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bufSize is the size of the copy buffers: large enough that a big result
// moves in few system calls.
const bufSize = 32 << 10

// bufPool holds the copy buffers of plain TCP reads. A buffer is taken only
// once data is there to read, so an idle session holds none.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// errStopped ends a copy loop that a fault ended.
var errStopped = errors.New("stopped by a fault")

// session copies bytes both ways until either side ends, shaped by the
// faults that act on live sessions.
func (c *conn) session() {
	if !c.loopSession() {
		return
	}
	// Idle time counts from here: the end of the startup, or the faults'
	// change that took the session out of the event loop.
	c.lastActive.Store(time.Now().UnixNano())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// On terminate the downstream loop sends the message and closes.
		if c.pump(Upstream, c.up, c.cl) != errStopped {
			c.close()
		}
	}()
	c.pump(Downstream, c.cl, c.up)
	c.passHeld()
	c.close()
	<-done
	// No copy loop runs now: an answer still held was never lost.
	if f := c.lose.Swap(nil); f != nil {
		f.lost.Add(-1)
	}
}

// shaping is what the faults do to one direction of one session.
type shaping struct {
	delay   time.Duration // latency
	rate    int           // trickle, bytes per second; 0 = none
	budgets []budget      // resets after bytes
	lose    []*Fault      // lose_answer faults
	idleCut *Fault        // the idle_cut fault with the shortest idle time
}

type budget struct {
	f    *Fault
	left *atomic.Int64 // shared by both directions
}

func (s *shaping) plain() bool {
	return s.delay == 0 && s.rate == 0 && len(s.budgets) == 0 && len(s.lose) == 0 && s.idleCut == nil
}

// shaping works out what the faults in force do to direction dir.
func (c *conn) shaping(dir Direction) shaping {
	var s shaping
	for _, f := range c.acting() {
		switch {
		case f.Kind == KindLatency && f.slows(dir):
			s.delay += time.Duration(f.Delay)
		case f.Kind == KindTrickle && f.slows(dir) && (s.rate == 0 || f.Rate < s.rate):
			s.rate = f.Rate
		case f.Kind == KindReset && f.At == AtBytes:
			// Counted from the moment the fault first acts on the session.
			v, loaded := c.budgets.LoadOrStore(f.ID, new(atomic.Int64))
			left := v.(*atomic.Int64)
			if !loaded {
				left.Add(f.Bytes)
			}
			s.budgets = append(s.budgets, budget{f, left})
		case f.Kind == KindLoseAnswer:
			s.lose = append(s.lose, f)
		case f.Kind == KindIdleCut && (s.idleCut == nil || f.Idle < s.idleCut.Idle):
			s.idleCut = f
		}
	}
	return s
}

// pump copies src to dst until either fails or a fault ends the session.
// Downstream it follows message boundaries so that a terminate message goes
// between two server messages.
func (c *conn) pump(dir Direction, dst, src net.Conn) error {
	r := newChunkReader(src)
	if dir == Upstream {
		r.first = c.held[0]
	} else {
		r.first = c.held[1]
	}
	fr := c.fr
	gen := c.gen.Load()
	shape := c.shaping(dir)
	chunk := func(b []byte) (bool, error) {
		readAt := time.Now()
		if g := c.gen.Load(); g != gen {
			gen, shape = g, c.shaping(dir)
		}
		if drop, err := c.idleCut(shape.idleCut, readAt); drop {
			return err != nil, err
		}
		var t *Fault
		if dir == Upstream {
			c.watchQueries(b, shape.lose)
		} else if f := c.lose.Load(); f != nil {
			var err error
			if b, err = c.holdAnswer(f, &fr, b); b == nil {
				return err != nil, err
			}
		} else {
			if t = c.term.Load(); t != nil {
				if cut := fr.advance(b, true); cut >= 0 {
					b = b[:cut]
				} else {
					t = nil // the boundary is further on
				}
			} else {
				fr.advance(b, false)
			}
		}
		var err error
		if shape.plain() {
			_, err = dst.Write(b)
		} else {
			err = c.forward(&shape, dst, b, readAt)
		}
		switch {
		case err != nil:
			return true, err
		case t != nil:
			return true, c.sendTerminate(t)
		}
		// A terminate waiting: back to the loop below, which acts on it.
		return c.term.Load() != nil, nil
	}
	for {
		if t := c.term.Load(); t != nil {
			if dir == Upstream {
				return errStopped
			}
			if fr.atBoundary() {
				return c.sendTerminate(t)
			}
		}
		err := r.each(chunk)
		var reset resetError
		switch {
		case err == nil: // stopped to look at a terminate
		case errors.As(err, &reset):
			c.resetOnce.Do(func() {
				c.emit(EventFault, reset.f, "", reset.detail)
				if reset.fin {
					c.close()
				} else {
					c.rst()
				}
			})
			return errStopped
		case errors.Is(err, os.ErrDeadlineExceeded):
			// A kick: the faults changed.
			src.SetReadDeadline(time.Time{})
			gen = c.gen.Load()
			shape = c.shaping(dir)
		default:
			return err
		}
	}
}

// idleCut applies an idle_cut fault to bytes read at readAt: after a silent
// cut every byte is dropped, both ways; the first byte after more than
// f.Idle without any is dropped and cuts the session, with a reset (the
// error) or silently. Bytes within the idle time count as activity.
func (c *conn) idleCut(f *Fault, readAt time.Time) (bool, error) {
	if c.silenced.Load() {
		return true, nil
	}
	prev := c.lastActive.Swap(readAt.UnixNano())
	if f == nil || prev == 0 {
		return false, nil
	}
	idle := readAt.Sub(time.Unix(0, prev))
	if idle <= time.Duration(f.Idle) {
		return false, nil
	}
	detail := fmt.Sprintf("idle for %s, more than %s", idle.Round(time.Millisecond), time.Duration(f.Idle))
	if f.Mode == IdleReset {
		return true, resetError{f: f, detail: detail}
	}
	c.silenced.Store(true)
	c.emit(EventFault, f, "", detail)
	return true, nil
}

// forward writes b to dst as the faults shape it.
func (c *conn) forward(s *shaping, dst net.Conn, b []byte, readAt time.Time) error {
	if s.delay > 0 && !c.sleep(time.Until(readAt.Add(s.delay))) {
		return net.ErrClosed
	}
	var reset *Fault
	for _, bg := range s.budgets {
		before := bg.left.Add(-int64(len(b))) + int64(len(b))
		if before < int64(len(b)) {
			b = b[:max(before, 0)]
			reset = bg.f
		}
	}
	if s.rate == 0 {
		if _, err := dst.Write(b); err != nil {
			return err
		}
	}
	for len(b) > 0 && s.rate > 0 {
		// Pieces of a tenth of a second's worth.
		piece := min(len(b), max(1, s.rate/10))
		if _, err := dst.Write(b[:piece]); err != nil {
			return err
		}
		b = b[piece:]
		if !c.sleep(time.Duration(piece) * time.Second / time.Duration(s.rate)) {
			return net.ErrClosed
		}
	}
	if reset != nil {
		// The reset itself waits for the pump to leave the read: closing a
		// connection inside it would wait for itself.
		return resetError{f: reset}
	}
	return nil
}

// resetError asks the pump to reset the connection for fault f (with fin,
// to close it plainly); detail goes into the event.
type resetError struct {
	f      *Fault
	detail string
	fin    bool
}

func (e resetError) Error() string { return "reset by fault " + e.f.ID }

// sleep waits for d unless the connection closes first (false).
func (c *conn) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

// sendTerminate sends the client the message of terminate fault t, as the
// server would between two messages, and ends the session.
func (c *conn) sendTerminate(t *Fault) error {
	msg, code := terminated57P01, "57P01"
	if t.Cause == "57P02" {
		msg, code = crashed57P02, "57P02"
	}
	c.cl.SetWriteDeadline(time.Now().Add(c.p.cfg.DialTimeout))
	c.cl.Write(msg)
	c.emit(EventFault, t, code, "")
	return errStopped
}

// framer follows message boundaries in a stream of typed messages.
type framer struct {
	rem int64   // bytes of the current message's body still to come
	hdr [5]byte // the header read so far
	hn  int
}

func (f *framer) atBoundary() bool { return f.rem == 0 && f.hn == 0 }

// advance moves over b. With stop it stops at the first message boundary
// (0 if the stream is at one already) and returns how many bytes of b come
// before it, or -1 when b ends inside a message; without stop it returns len(b).
func (f *framer) advance(b []byte, stop bool) int {
	if !stop {
		n, _ := f.scan(b, func(byte) bool { return false })
		return n
	}
	if f.atBoundary() {
		return 0
	}
	if n, ended := f.scan(b, func(byte) bool { return true }); ended {
		return n
	}
	return -1
}

// chunkReader reads what a connection has: on plain TCP into a pooled buffer
// taken only once data is there, on TLS into a buffer of its own.
type chunkReader struct {
	first []byte // handed to fn before anything is read
	src   net.Conn
	rc    syscall.RawConn
	own   []byte
}

func newChunkReader(src net.Conn) *chunkReader {
	r := &chunkReader{src: src}
	if tc, ok := src.(*net.TCPConn); ok {
		r.rc = rawSocket(tc)
	}
	return r
}

// each reads chunks and hands each to fn until fn asks to stop (true) or
// fails, or the read fails (io.EOF at the end).
func (r *chunkReader) each(fn func([]byte) (bool, error)) error {
	if b := r.first; b != nil {
		r.first = nil
		if stop, err := fn(b); stop || err != nil {
			return err
		}
	}
	if r.rc == nil {
		if r.own == nil {
			// TLS hands over at most a record (16 KiB) a read.
			r.own = make([]byte, 16<<10)
		}
		for {
			n, err := r.src.Read(r.own)
			if n > 0 {
				if stop, ferr := fn(r.own[:n]); stop || ferr != nil {
					return ferr
				}
			}
			if err != nil {
				return err
			}
		}
	}
	var (
		bp      *[]byte
		result  error
		drained bool
	)
	// All in one RawRead: the poller's readiness is reset only when RawRead
	// starts, so inside it a read that left the socket empty (it returned
	// less than a full buffer) can go straight to waiting, and the read that
	// would only say EAGAIN is saved. Data that comes later always brings a
	// readiness event (the poller is edge-triggered); a stale one costs one
	// EAGAIN.
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			if drained {
				drained = false
				return false
			}
			if bp == nil {
				bp = bufPool.Get().(*[]byte)
			}
			n, err := readFD(fd, *bp)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				// Idle: the buffer goes back to the pool while waiting.
				bufPool.Put(bp)
				bp = nil
				return false
			case err != nil:
				result = err
				return true
			case n == 0:
				result = io.EOF
				return true
			}
			stop, ferr := fn((*bp)[:n])
			if stop || ferr != nil {
				result = ferr
				return true
			}
			if n < len(*bp) {
				bufPool.Put(bp)
				bp = nil
				drained = true
			}
		}
	})
	if bp != nil {
		bufPool.Put(bp)
	}
	if err != nil {
		return err
	}
	return result
}
