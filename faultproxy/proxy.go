package faultproxy

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what Start needs.
type Config struct {
	// Listen is the address to accept clients on; "127.0.0.1:0" picks a free port.
	Listen string
	// Upstream is the server's "host:port".
	Upstream string
	// ClientTLS is the configuration presented to clients that send an
	// SSLRequest; nil means a self-signed certificate generated at Start for
	// "localhost", 127.0.0.1 and ::1.
	ClientTLS *tls.Config
	// NoClientTLS answers SSLRequest with 'N', as a server without ssl.
	NoClientTLS bool
	// UpstreamTLS nil means plain TCP to the upstream; otherwise the proxy
	// sends an SSLRequest and speaks TLS with this configuration. A client
	// that also speaks TLS to the proxy must then use
	// channel_binding=disable: SCRAM binds the login to the TLS session it
	// runs over, which is the proxy's, so the server refuses both
	// SCRAM-SHA-256-PLUS and a client that could bind but does not.
	UpstreamTLS *tls.Config
	// DialTimeout bounds connecting to the upstream and each step of a
	// connection's startup; 0 means 5 seconds.
	DialTimeout time.Duration
	// OnEvent is called for every Event, from the connection's goroutine; it
	// must not block. May be nil.
	OnEvent func(Event)
	// Seed makes the per-connection choices of faults with a Share
	// reproducible; 0 means a random seed.
	Seed uint64
}

// Proxy is a running proxy. Its methods are safe for concurrent use.
type Proxy struct {
	cfg      Config
	addr     net.Addr
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	nextConn atomic.Uint64
	nextID   atomic.Uint64

	seed      uint64
	clientTLS *tls.Config

	loop *evloop // nil when it cannot start: then pump copies every session

	mu sync.Mutex
	ln net.Listener // nil while a refuse fault for every connection has the listener closed
	// relistening: a goroutine is trying to listen again on addr.
	relistening bool
	faults      []Fault
	changed     chan struct{} // closed and replaced whenever faults change
	conns       map[*conn]struct{}
	closed      bool
}

// Start listens on cfg.Listen and proxies every client to cfg.Upstream until
// Close. ctx bounds only the start itself.
func Start(ctx context.Context, cfg Config) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("faultproxy: no upstream address")
	}
	if _, _, err := net.SplitHostPort(cfg.Upstream); err != nil {
		return nil, fmt.Errorf("faultproxy: upstream %q: %w", cfg.Upstream, err)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{cfg: cfg, addr: ln.Addr(), ln: ln, conns: map[*conn]struct{}{}, changed: make(chan struct{}), seed: cfg.Seed}
	if p.seed == 0 {
		p.seed = rand.Uint64()
	}
	if !cfg.NoClientTLS {
		p.clientTLS = cfg.ClientTLS
		if p.clientTLS == nil {
			if p.clientTLS, err = selfSigned(); err != nil {
				ln.Close()
				return nil, fmt.Errorf("faultproxy: %w", err)
			}
		}
	}
	p.loop, _ = newEvloop()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.accept(ln)
	return p, nil
}

// Addr is the address clients connect to, such as "127.0.0.1:40123".
func (p *Proxy) Addr() string { return p.addr.String() }

// Add validates f, gives it an ID when it has none and puts it in force at
// once. It returns the fault as stored, with defaults filled in.
func (p *Proxy) Add(f Fault) (Fault, error) {
	f, err := f.normalize()
	if err != nil {
		return Fault{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.ID == "" {
		f.ID = "f" + strconv.FormatUint(p.nextID.Add(1), 10)
	}
	for _, g := range p.faults {
		if g.ID == f.ID {
			return Fault{}, fmt.Errorf("a fault with id %q exists", f.ID)
		}
	}
	if f.Kind == KindTerminate {
		// One-shot: it acts on the sessions live now and is not kept.
		for c := range p.conns {
			if p.hits(&f, c.id) {
				c.terminate(f)
			}
		}
		return f, nil
	}
	if f.Kind == KindLoseAnswer {
		f.lost = new(atomic.Int64)
	}
	p.faults = append(p.faults, f)
	p.changedLocked()
	return f, nil
}

// changedLocked tells every waiting connection and every session's copy loops
// that the faults changed, and closes or reopens the listener for refuse.
func (p *Proxy) changedLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
	for c := range p.conns {
		c.kick()
	}
	p.listenLocked()
}

// listenLocked closes the listener while a refuse fault acts on every
// connection, so that the kernel refuses the TCP handshake (ECONNREFUSED),
// exactly as for a server that is down; and listens again on the same address
// once none does. A refuse for a share of connections cannot refuse a
// handshake: those connections are reset at accept instead.
func (p *Proxy) listenLocked() {
	switch refuse := p.refusingLocked(); {
	case p.closed || p.relistening:
	case refuse && p.ln != nil:
		p.ln.Close()
		p.ln = nil
	case !refuse && p.ln == nil:
		// The port was ours a moment ago, and SO_REUSEADDR lets it be taken
		// again at once. Should another program have taken it meanwhile, try
		// again every 10 ms without holding up the proxy.
		if ln, err := net.Listen("tcp", p.addr.String()); err == nil {
			p.serveLocked(ln)
			return
		}
		p.relistening = true
		p.wg.Add(1)
		go p.relisten()
	}
}

// refusingLocked says whether a refuse fault acts on every connection.
func (p *Proxy) refusingLocked() bool {
	for _, f := range p.faults {
		if f.Kind == KindRefuse && f.Share >= 1 {
			return true
		}
	}
	return false
}

// serveLocked makes ln the listener and accepts on it.
func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go p.accept(ln)
}

// relisten retries listening on the proxy's address until it succeeds, the
// listener is no longer wanted, or the proxy closes.
func (p *Proxy) relisten() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
		ln, err := net.Listen("tcp", p.addr.String())
		p.mu.Lock()
		switch {
		case p.closed || p.refusingLocked():
			p.relistening = false
			p.mu.Unlock()
			if err == nil {
				ln.Close()
			}
			return
		case err == nil:
			p.relistening = false
			p.serveLocked(ln)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// snapshot returns the faults in force and a channel closed at their next change.
func (p *Proxy) snapshot() ([]Fault, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults, p.changed
}

// Remove ends the fault with this id; it reports whether there was one.
func (p *Proxy) Remove(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.faults {
		if f.ID == id {
			p.faults = append(p.faults[:i:i], p.faults[i+1:]...)
			p.changedLocked()
			return true
		}
	}
	return false
}

// Faults lists the faults in force in the order they were added.
func (p *Proxy) Faults() []Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Fault(nil), p.faults...)
}

// Clear removes every fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.faults) > 0 {
		p.faults = nil
		p.changedLocked()
	}
}

// Sessions is the number of client connections open now, whatever their
// state: in startup, held by a blackhole, or in session.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops accepting, closes every connection and returns once every
// goroutine the proxy started has ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var err error
	if p.ln != nil {
		err = p.ln.Close()
	}
	p.mu.Unlock()
	p.cancel()
	p.mu.Lock()
	for c := range p.conns {
		c.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if p.loop != nil {
		p.loop.close()
	}
	return err
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		c := newConn(p, nc)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			nc.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			c.serve()
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}()
	}
}

// hits decides whether fault f acts on connection conn: always at Share 1,
// else for that fraction of connections, the same answer every time it is
// asked for the same fault and connection.
func (p *Proxy) hits(f *Fault, conn uint64) bool {
	if f.Share >= 1 {
		return true
	}
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], p.seed)
	binary.LittleEndian.PutUint64(b[8:], conn)
	h.Write(b[:])
	h.Write([]byte(f.ID))
	// FNV alone spreads short inputs badly over the high bits; mix (splitmix64).
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53) < f.Share
}

func (p *Proxy) emit(e Event) {
	if p.cfg.OnEvent != nil {
		e.Time = time.Now()
		p.cfg.OnEvent(e)
	}
}
