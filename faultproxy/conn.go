package faultproxy

import (
	"io"
	"net"
	"sync"
)

// conn is one client connection and, once dialed, its upstream connection.
type conn struct {
	p      *Proxy
	id     uint64
	client net.Conn

	mu       sync.Mutex
	upstream net.Conn
	closed   bool
}

func (c *conn) serve() {
	defer c.close()
	c.p.emit(Event{Conn: c.id, Client: c.client.RemoteAddr().String(), Type: EventAccepted})
	defer c.p.emit(Event{Conn: c.id, Client: c.client.RemoteAddr().String(), Type: EventClosed})
	d := net.Dialer{Timeout: c.p.cfg.DialTimeout}
	up, err := d.DialContext(c.p.ctx, "tcp", c.p.cfg.Upstream)
	if err != nil {
		return
	}
	if !c.setUpstream(up) {
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(up, c.client)
		c.close()
		close(done)
	}()
	io.Copy(c.client, up)
	c.close()
	<-done
}

func (c *conn) setUpstream(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		up.Close()
		return false
	}
	c.upstream = up
	return true
}

// close closes both sides; safe to call more than once and from any goroutine.
func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.client.Close()
	if c.upstream != nil {
		c.upstream.Close()
	}
}
