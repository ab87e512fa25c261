//go:build linux

package faultproxy

import (
	"crypto/tls"
	"net"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// evloop copies the bytes of sessions that no fault shapes (plain TCP, or
// TLS terminated here towards the client with a plain upstream), all of
// them from one goroutine blocked in its own epoll instance, as a
// single-threaded C proxy does. Through Go's netpoller every message costs a
// goroutine wake-up, and with it the scheduler's futex, spinning and extra
// epoll calls between threads; here a message costs its read, its write and
// a share of one epoll_wait.
//
// The loop owns duplicates of the sessions' sockets (the originals are
// closed, so Go's poller no longer watches them). When the faults change
// so that a session needs its byte stream shaped, or a terminate must find a
// message boundary, the session leaves the loop with its unwritten bytes
// and its place in the server's messages, and goes back to the copy loops
// of session.go.
type evloop struct {
	epfd, wakefd int
	done         chan struct{} // closed when run returns

	mu   sync.Mutex
	cmds []loopCmd
	stop bool

	// Only run touches these.
	fds map[int32]*looped
}

// looped is one session in the loop. Side 0 is the client, side 1 the
// upstream; buf[d] holds bytes read from side d (in clear) not yet written
// to the other, except that towards a TLS client lc.out holds them encrypted.
type looped struct {
	c        *conn
	gen      uint64    // c.gen when the faults were last seen to allow the loop
	frozen   bool      // c.gen moved: nothing is copied until the session says
	held     [2]bool   // buf[d] was read after c.gen moved: not to be written as is
	tls      *tls.Conn // the client's TLS, over lc; nil for plain TCP
	lc       *loopConn
	fd       [2]int
	readable [2]bool // side d may have data: an edge came, no short read since
	buf      [2]*[]byte
	off, n   [2]int
	fr       framer        // the server's messages, for a terminate later
	upfr     framer        // the client's messages, for a lose_answer later
	left     chan struct{} // closed when the session is out of the loop
	ended    bool          // it left because a side ended or failed
	pending  [2][]byte     // on hand back: what was to be written to the other side of d, copied
}

type loopCmd struct {
	s        *looped
	add      bool
	resume   bool // the faults changed but still allow the loop, at gen
	gen      uint64
	handBack bool // on remove: keep the sockets open and return them
}

func newEvloop() (*evloop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, err
	}
	l := &evloop{epfd: epfd, wakefd: wakefd, done: make(chan struct{}), fds: map[int32]*looped{}}
	go l.run()
	return l, nil
}

// loopSession runs the session in the proxy's event loop for as long as no
// fault needs its bytes. It returns false when the session ended there, true
// when it is back, its unwritten bytes written, to be copied by pump.
func (c *conn) loopSession() bool {
	l := c.p.loop
	gen := c.gen.Load()
	if l == nil || !c.loopable() {
		return true
	}
	s := l.adopt(c, gen)
	if s == nil {
		select {
		case <-c.done:
			return false
		default:
			return true
		}
	}
	for {
		select {
		case <-s.left:
			return false
		case <-c.done:
			l.remove(s, false)
			return false
		case <-c.kicked:
		}
		if gen := c.gen.Load(); c.loopable() {
			l.resume(s, gen)
			continue
		}
		l.remove(s, true)
		if s.ended {
			return false
		}
		cl, up, err := s.conns()
		if err != nil {
			return false
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			cl.Close()
			up.Close()
			return false
		}
		if c.lc != nil {
			c.lc.Conn, c.lc.looped = cl, false
		} else {
			c.cl = cl
		}
		c.client, c.up = cl, up
		c.mu.Unlock()
		c.fr, c.upfr = s.fr, s.upfr
		for d, dst := range []net.Conn{up, cl} {
			if s.held[d] {
				c.held[d] = s.pending[d]
			} else if _, err := dst.Write(s.pending[d]); err != nil {
				return false
			}
		}
		return true
	}
}

// loopable reports whether the session's bytes may go through the event
// loop: no fault shapes them and no terminate waits.
func (c *conn) loopable() bool {
	if c.term.Load() != nil {
		return false
	}
	up, down := c.shaping(Upstream), c.shaping(Downstream)
	return up.plain() && down.plain()
}

// close stops the loop once no session is left in it, and frees its descriptors.
func (l *evloop) close() {
	l.mu.Lock()
	l.stop = true
	l.mu.Unlock()
	l.wake()
	<-l.done
	unix.Close(l.epfd)
	unix.Close(l.wakefd)
}

func (l *evloop) wake() {
	one := [8]byte{1}
	unix.Write(l.wakefd, one[:])
}

func (l *evloop) send(cmd loopCmd) {
	l.mu.Lock()
	l.cmds = append(l.cmds, cmd)
	l.mu.Unlock()
	l.wake()
}

// adopt moves the sockets of c's session into the loop; nil when they stay
// with c (not both plain TCP, or duplicating failed), or when c is closed
// already (then c.done is closed too).
// gen is c.gen when the faults were seen to allow the loop.
func (l *evloop) adopt(c *conn, gen uint64) *looped {
	cl, ok1 := c.client.(*net.TCPConn)
	up, ok2 := c.up.(*net.TCPConn)
	tc, ok3 := c.cl.(*tls.Conn)
	if !ok1 || !ok2 || c.tls != (ok3 && c.lc != nil) {
		return nil
	}
	s := &looped{c: c, gen: gen, fd: [2]int{-1, -1}, readable: [2]bool{true, true}, left: make(chan struct{})}
	if c.tls {
		s.tls, s.lc = tc, c.lc
	}
	for i, nc := range []*net.TCPConn{cl, up} {
		rc, err := nc.SyscallConn()
		if err == nil {
			rc.Control(func(fd uintptr) { s.fd[i], err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
		}
		if err != nil {
			s.closeFDs()
			return nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.closeFDs()
		return nil
	}
	// Closing the originals takes them out of Go's poller; the sockets
	// stay open through the duplicates.
	cl.Close()
	up.Close()
	if s.lc != nil {
		s.lc.looped = true
	}
	l.send(loopCmd{s: s, add: true})
	return s
}

// resume lets s copy again after a change of the faults that still allows it.
func (l *evloop) resume(s *looped, gen uint64) {
	l.send(loopCmd{s: s, resume: true, gen: gen})
}

// remove takes s out of the loop and waits until it is; with handBack its
// sockets stay open for the caller, unless s ended first (s.ended).
func (l *evloop) remove(s *looped, handBack bool) {
	l.send(loopCmd{s: s, handBack: handBack})
	<-s.left
}

func (s *looped) closeFDs() {
	for i, fd := range s.fd {
		if fd >= 0 {
			unix.Close(fd)
			s.fd[i] = -1
		}
	}
}

func (l *evloop) run() {
	defer close(l.done)
	events := make([]unix.EpollEvent, 128)
	for {
		// When events are waiting, as under load, a raw call that does not
		// wait takes them without handing the thread's P to the scheduler
		// and taking it back; only an idle loop waits in the scheduler's
		// view.
		n, err := rawEpollWait(l.epfd, events)
		if n == 0 && err == nil {
			n, err = unix.EpollWait(l.epfd, events, -1)
		}
		if err != nil {
			continue // EINTR: the descriptors are the loop's own
		}
		woke := false
		for _, ev := range events[:n] {
			if int(ev.Fd) == l.wakefd {
				woke = true
				continue
			}
			s := l.fds[ev.Fd]
			if s == nil {
				continue // left earlier in this batch
			}
			d := 0
			if int(ev.Fd) == s.fd[1] {
				d = 1
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				s.readable[d] = true
			}
			// Bytes from d, and bytes waiting to be written to d.
			if !l.copy(s, d) || !l.copy(s, 1-d) {
				l.leave(s, false)
			}
		}
		if woke && l.commands() {
			return
		}
	}
}

// commands carries out what sessions asked for; true when the loop must stop.
func (l *evloop) commands() bool {
	var b [8]byte
	unix.Read(l.wakefd, b[:])
	l.mu.Lock()
	cmds, stop := l.cmds, l.stop
	l.cmds = nil
	l.mu.Unlock()
	for _, cmd := range cmds {
		s := cmd.s
		switch {
		case cmd.resume:
			select {
			case <-s.left:
				continue
			default:
			}
			s.gen, s.frozen = cmd.gen, false
			ok := !s.held[1] || s.down((*s.buf[1])[:s.n[1]])
			s.held = [2]bool{}
			if !ok || !l.copy(s, 0) || !l.copy(s, 1) {
				l.leave(s, false)
			}
		case !cmd.add:
			l.leave(s, cmd.handBack)
		case !l.enter(s):
			l.leave(s, false)
		case !l.copy(s, 0) || !l.copy(s, 1):
			// Bytes may have come before the sockets were watched.
			l.leave(s, false)
		}
	}
	return stop && len(l.fds) == 0
}

func (l *evloop) enter(s *looped) bool {
	for _, fd := range s.fd {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return false
		}
		l.fds[int32(fd)] = s
	}
	return true
}

// leave takes s out of the loop: with handBack its sockets stay open and its
// unwritten bytes are kept for the caller, else the sockets are closed.
func (l *evloop) leave(s *looped, handBack bool) {
	select {
	case <-s.left:
		return
	default:
	}
	for d, fd := range s.fd {
		if l.fds[int32(fd)] == s {
			delete(l.fds, int32(fd))
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		}
		if handBack && (s.tls == nil || d == 0 || s.held[d]) && s.buf[d] != nil {
			s.pending[d] = append([]byte(nil), (*s.buf[d])[s.off[d]:s.n[d]]...)
		}
		if handBack && s.tls != nil && d == 1 && !s.held[d] {
			s.pending[d] = append([]byte(nil), s.lc.out[s.lc.outOff:]...)
		}
		if s.buf[d] != nil {
			bufPool.Put(s.buf[d])
			s.buf[d] = nil
		}
	}
	if !handBack {
		s.ended = true
		s.closeFDs()
		if s.lc != nil {
			s.lc.release()
		}
	}
	close(s.left)
}

// copy moves what side d has to the other side until d has nothing more or
// the other side takes no more; false when either side ended or failed.
func (l *evloop) copy(s *looped, d int) bool {
	for !s.frozen {
		if out := s.outgoing(d); len(out) > 0 {
			w, err := rawIO(unix.SYS_SENDTO, s.fd[1-d], out)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return true // an EPOLLOUT edge brings us back
			case err != nil:
				return false
			}
			s.wrote(d, w)
			continue
		}
		s.off[d], s.n[d] = 0, 0
		if s.buf[d] == nil {
			s.buf[d] = bufPool.Get().(*[]byte)
		}
		b := *s.buf[d]
		r, ok := s.fill(d, b)
		if !ok {
			return false
		}
		if r == 0 {
			bufPool.Put(s.buf[d])
			s.buf[d] = nil
			return true
		}
		s.n[d] = r
		if s.c.gen.Load() != s.gen {
			// A fault came, perhaps for these very bytes: the session
			// decides what becomes of them.
			s.held[d], s.frozen = true, true
			return true
		}
		if d == 0 {
			s.upfr.advance(b[:r], false)
		} else if !s.down(b[:r]) {
			return false
		}
	}
	return true
}

// down takes b, read from the upstream into buf[1], on its way to the
// client: it follows the server's messages and, for a TLS client, encrypts
// b into the bytes to send; false when TLS fails.
func (s *looped) down(b []byte) bool {
	s.fr.advance(b, false)
	if s.tls == nil {
		return true
	}
	s.n[1] = 0
	_, err := s.tls.Write(b)
	return err == nil
}

// outgoing is what waits to be written to the other side of d.
func (s *looped) outgoing(d int) []byte {
	if s.tls != nil && d == 1 {
		return s.lc.out[s.lc.outOff:]
	}
	if s.buf[d] == nil {
		return nil
	}
	return (*s.buf[d])[s.off[d]:s.n[d]]
}

// wrote records that n bytes of outgoing(d) went.
func (s *looped) wrote(d, n int) {
	if s.tls == nil || d == 0 {
		s.off[d] += n
		return
	}
	lc := s.lc
	lc.outOff += n
	if lc.outOff == len(lc.out) {
		lc.out, lc.outOff = lc.out[:0], 0
		if cap(lc.out) > 64<<10 {
			lc.out = nil // a large result passed: an idle session keeps little
		}
	}
}

// fill reads into b the next bytes side d has, in clear: 0 when it has
// none now, false when it ended or failed.
func (s *looped) fill(d int, b []byte) (int, bool) {
	if s.tls != nil && d == 0 {
		return s.fillTLS(b)
	}
	if !s.readable[d] {
		return 0, true
	}
	for {
		r, err := rawIO(unix.SYS_RECVFROM, s.fd[d], b)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			s.readable[d] = false
			return 0, true
		case err != nil, r == 0:
			return 0, false
		}
		// A short read emptied the socket: data coming later brings an
		// edge, so the read that would only say EAGAIN is saved.
		s.readable[d] = r == len(b)
		return r, true
	}
}

// fillTLS decrypts into b what the client sent, reading the socket when the
// TLS records taken so far are used up.
func (s *looped) fillTLS(b []byte) (int, bool) {
	lc := s.lc
	for {
		n, err := s.tls.Read(b)
		if n > 0 {
			return n, true
		}
		if err != errWouldBlock {
			return 0, false
		}
		if !s.readable[0] {
			lc.release()
			return 0, true
		}
		space := lc.space()
		if len(space) == 0 {
			return 0, false // no TLS record is that long
		}
		r, err := rawIO(unix.SYS_RECVFROM, s.fd[0], space)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			s.readable[0] = false
			lc.release()
			return 0, true
		case err != nil, r == 0:
			return 0, false
		}
		s.readable[0] = r == len(space)
		lc.inHi += r
	}
}

// conns turns the sockets of a session handed back into connections of
// Go's poller.
func (s *looped) conns() (cl, up net.Conn, err error) {
	defer s.closeFDs()
	var cs [2]net.Conn
	for i, fd := range s.fd {
		f := os.NewFile(uintptr(fd), "")
		cs[i], err = net.FileConn(f)
		f.Close()
		s.fd[i] = -1
		if err != nil {
			if i == 1 {
				cs[0].Close()
			}
			return nil, nil, err
		}
	}
	return cs[0], cs[1], nil
}

// rawIO receives into or sends b (trap SYS_RECVFROM or SYS_SENDTO, which
// skip the file layer that read and write go through) on the non-blocking
// socket fd without telling the scheduler: the call never waits, so the P
// it holds is not missed.
func rawIO(trap uintptr, fd int, b []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// rawEpollWait takes the events waiting on epfd, without waiting.
func rawEpollWait(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
