package faultproxy

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// startupTimeout bounds each read and write of a connection's startup, on
// either side: a client that stops half way through does not hold a
// goroutine for ever.
const startupTimeout = 30 * time.Second

// conn is one client connection and, once dialed, its upstream connection.
type conn struct {
	p      *Proxy
	id     uint64
	client net.Conn // the accepted TCP connection
	ev     Event    // the template of this connection's events
	done   chan struct{}

	// cl and up are the two sides as spoken (TLS or not); set before
	// inSession, and after it only under mu (a session coming back from
	// the event loop gets new ones).
	cl, up    net.Conn
	tls       bool
	lc        *loopConn // under the client's TLS
	inSession atomic.Bool
	gen       atomic.Uint64         // incremented by every kick
	kicked    chan struct{}         // a kick for a session in the event loop
	fr        framer                // the server's messages on coming back from the event loop
	held      [2][]byte             // from client, from upstream: read by the event loop after the faults changed, for pump
	term      atomic.Pointer[Fault] // a terminate fault waiting for a message boundary
	budgets   sync.Map              // fault ID -> *atomic.Int64 bytes left before a reset
	resetOnce sync.Once

	// idle_cut: when the session last carried a byte either way (Unix
	// nanoseconds), and whether a silent cut has made it drop everything.
	lastActive atomic.Int64
	silenced   atomic.Bool

	// lose_answer: upfr follows the client's messages, qtext keeps the
	// start of a Query's text (inQuery) until it ends; lose is the fault
	// whose query went upstream, its answer held in answer until it shows
	// how the query went.
	upfr    framer
	qtext   []byte
	inQuery bool
	lose    atomic.Pointer[Fault]
	answer  []byte

	mu     sync.Mutex
	closed bool
}

func newConn(p *Proxy, nc net.Conn) *conn {
	c := &conn{p: p, id: p.nextConn.Add(1), client: nc, cl: nc, done: make(chan struct{}), kicked: make(chan struct{}, 1)}
	c.ev = Event{Conn: c.id, Client: nc.RemoteAddr().String()}
	return c
}

func (c *conn) emit(t EventType, f *Fault, code, detail string) {
	e := c.ev
	e.Type, e.Code, e.Detail = t, code, detail
	if f != nil {
		e.FaultID, e.Kind = f.ID, f.Kind
	}
	c.p.emit(e)
}

func (c *conn) serve() {
	defer c.close()
	c.emit(EventAccepted, nil, "", "")
	detail := c.run()
	c.emit(EventClosed, nil, "", detail)
}

// run takes the connection through its life and returns why it ended when
// that is worth a word in the closed event.
func (c *conn) run() string {
	for _, f := range c.acting() {
		switch {
		case f.Kind == KindRefuse, f.Kind == KindReset && f.At == AtAccept:
			c.emit(EventFault, f, "", "")
			c.rst()
			return ""
		case f.Kind == KindBlackhole:
			c.emit(EventFault, f, "", "")
			c.hold(f.ID)
			return ""
		}
	}

	st, err := c.readStartup()
	if err != nil {
		return "startup: " + err.Error()
	}
	if st.cancel != nil {
		if err := c.forwardCancel(st.cancel); err != nil {
			return "cancel request: " + err.Error()
		}
		return "cancel request forwarded"
	}
	return c.startSession(st)
}

// acting lists the faults in force that act on this connection, in the
// order they were added.
func (c *conn) acting() []*Fault {
	faults, _ := c.p.snapshot()
	var out []*Fault
	for i := range faults {
		if c.p.hits(&faults[i], c.id) {
			out = append(out, &faults[i])
		}
	}
	return out
}

// hold keeps a blackholed connection open, reading nothing, until the fault
// is removed or the proxy closes; then it is closed.
func (c *conn) hold(id string) {
	for {
		faults, changed := c.p.snapshot()
		found := false
		for _, f := range faults {
			found = found || f.ID == id
		}
		if !found {
			return
		}
		select {
		case <-changed:
		case <-c.done:
			return
		}
	}
}

// dialUpstream connects to the upstream, with TLS when configured.
func (c *conn) dialUpstream(ctx context.Context) (net.Conn, error) {
	cfg := c.p.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	d := net.Dialer{}
	raw, err := d.DialContext(ctx, "tcp", cfg.Upstream)
	if err != nil {
		return nil, err
	}
	if cfg.UpstreamTLS == nil {
		return raw, nil
	}
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	if _, err := raw.Write(sslRequest); err != nil {
		raw.Close()
		return nil, err
	}
	var b [1]byte
	if _, err := raw.Read(b[:]); err != nil {
		raw.Close()
		return nil, err
	}
	if b[0] != 'S' {
		raw.Close()
		return nil, errUpstreamNoTLS
	}
	tc := tls.Client(raw, upstreamTLS(cfg.UpstreamTLS, cfg.Upstream))
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	raw.SetDeadline(time.Time{})
	return tc, nil
}

// setUpstream records the upstream connection so that close closes it; it
// reports false (and closes up) when the connection is already closed.
func (c *conn) setUpstream(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		up.Close()
		return false
	}
	c.up = up
	return true
}

// kick makes the session's copy loops look at the faults again: a read
// deadline in the past ends the reads they are blocked in. A session in the
// event loop hears it on kicked.
func (c *conn) kick() {
	c.gen.Add(1)
	select {
	case c.kicked <- struct{}{}:
	default:
	}
	if c.inSession.Load() {
		c.mu.Lock()
		defer c.mu.Unlock()
		past := time.Unix(1, 0)
		c.cl.SetReadDeadline(past)
		c.up.SetReadDeadline(past)
	}
}

// terminate asks the session to end with f's message at the next message
// boundary. Connections not yet in session are left alone.
func (c *conn) terminate(f Fault) {
	if c.inSession.Load() && c.term.CompareAndSwap(nil, &f) {
		c.kick()
	}
}

// rst closes the client connection with a TCP RST instead of a FIN.
func (c *conn) rst() {
	if tc, ok := c.client.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.close()
}

// close closes both sides; safe to call more than once and from any goroutine.
func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	close(c.done)
	// A copy loop may be blocked writing to one connection while it holds
	// the other in a read (see chunkReader.each), and Close waits for the
	// read to end: deadlines in the past first free every blocked call.
	past := time.Unix(1, 0)
	c.client.SetDeadline(past)
	if c.up != nil {
		c.up.SetDeadline(past)
	}
	c.client.Close()
	if c.up != nil {
		c.up.Close()
	}
}

// write writes b to w with the startup deadline.
func writeTimeout(w net.Conn, b []byte) error {
	w.SetWriteDeadline(time.Now().Add(startupTimeout))
	defer w.SetWriteDeadline(time.Time{})
	_, err := w.Write(b)
	return err
}
