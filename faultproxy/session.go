package faultproxy

import (
	"encoding/binary"
	"errors"
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
	done := make(chan struct{})
	go func() {
		defer close(done)
		// On terminate the downstream loop sends the message and closes.
		if c.pump(Upstream, c.up, c.cl) != errStopped {
			c.close()
		}
	}()
	c.pump(Downstream, c.cl, c.up)
	c.close()
	<-done
}

// shaping is what the faults do to one direction of one session.
type shaping struct {
	delay   time.Duration // latency
	rate    int           // trickle, bytes per second; 0 = none
	budgets []budget      // resets after bytes
}

type budget struct {
	f    *Fault
	left *atomic.Int64 // shared by both directions
}

func (s *shaping) plain() bool { return s.delay == 0 && s.rate == 0 && len(s.budgets) == 0 }

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
		}
	}
	return s
}

// pump copies src to dst until either fails or a fault ends the session.
// Downstream it follows message boundaries so that a terminate message goes
// between two server messages.
func (c *conn) pump(dir Direction, dst, src net.Conn) error {
	r := newChunkReader(src)
	var fr framer
	gen := c.gen.Load()
	shape := c.shaping(dir)
	for {
		if t := c.term.Load(); t != nil {
			if dir == Upstream {
				return errStopped
			}
			if fr.atBoundary() {
				return c.sendTerminate(t)
			}
		}
		bp, n, err := r.read()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// A kick: the faults changed.
				src.SetReadDeadline(time.Time{})
				gen = c.gen.Load()
				shape = c.shaping(dir)
				continue
			}
			return err
		}
		readAt := time.Now()
		if g := c.gen.Load(); g != gen {
			gen, shape = g, c.shaping(dir)
		}
		b := (*bp)[:n]
		var t *Fault
		if dir == Downstream {
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
		if shape.plain() {
			_, err = dst.Write(b)
		} else {
			err = c.forward(&shape, dst, b, readAt)
		}
		r.release(bp)
		if err != nil {
			return err
		}
		if t != nil {
			return c.sendTerminate(t)
		}
	}
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
		c.resetOnce.Do(func() {
			c.emit(EventFault, reset, "", "")
			c.rst()
		})
		return errStopped
	}
	return nil
}

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
	i := 0
	for {
		if stop && f.atBoundary() {
			return i
		}
		if i == len(b) {
			if stop {
				return -1
			}
			return i
		}
		if f.rem > 0 {
			k := min(f.rem, int64(len(b)-i))
			f.rem -= k
			i += int(k)
			continue
		}
		k := copy(f.hdr[f.hn:], b[i:])
		f.hn += k
		i += k
		if f.hn == len(f.hdr) {
			f.hn = 0
			f.rem = max(int64(binary.BigEndian.Uint32(f.hdr[1:]))-4, 0)
		}
	}
}

// chunkReader reads what a connection has: on plain TCP into a pooled buffer
// taken only once data is there, on TLS into a buffer of its own.
type chunkReader struct {
	src net.Conn
	rc  syscall.RawConn
	own []byte
}

func newChunkReader(src net.Conn) *chunkReader {
	r := &chunkReader{src: src}
	if tc, ok := src.(*net.TCPConn); ok {
		r.rc, _ = tc.SyscallConn()
	}
	return r
}

func (r *chunkReader) read() (*[]byte, int, error) {
	if r.rc == nil {
		if r.own == nil {
			// TLS hands over at most a record (16 KiB) a read.
			r.own = make([]byte, 16<<10)
		}
		n, err := r.src.Read(r.own)
		if n > 0 {
			return &r.own, n, nil
		}
		return nil, 0, err
	}
	var (
		bp   *[]byte
		n    int
		serr error
	)
	err := r.rc.Read(func(fd uintptr) bool {
		bp = bufPool.Get().(*[]byte)
		for {
			n, serr = syscall.Read(int(fd), *bp)
			if serr != syscall.EINTR {
				break
			}
		}
		if serr == syscall.EAGAIN {
			bufPool.Put(bp)
			bp = nil
			return false
		}
		return true
	})
	switch {
	case err == nil && serr == nil && n > 0:
		return bp, n, nil
	case bp != nil:
		bufPool.Put(bp)
	}
	if err == nil {
		err = serr
	}
	if err == nil {
		err = io.EOF
	}
	return nil, 0, err
}

func (r *chunkReader) release(bp *[]byte) {
	if r.rc != nil {
		bufPool.Put(bp)
	}
}
