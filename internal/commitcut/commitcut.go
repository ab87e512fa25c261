// Package commitcut is a loopback forwarder for PostgreSQL's protocol that loses the answer to a COMMIT (or another
// simple-protocol query) on demand: it passes the query to the server, waits for the server's answer, and closes
// the client's connection instead of passing the answer on. The transaction is then committed and the client cannot know it, which is what a
// failover or a network cut at the wrong moment does and what a real server cannot be made to do on demand.
// The retry tests and the failover experiment (bench/failover) use it.
//
// Clients must not use TLS through it: it answers SSLRequest and GSSENCRequest with N (sslmode=prefer and
// disable work; require does not).
package commitcut

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections from a loopback port to a PostgreSQL server.
type Proxy struct {
	ln     net.Listener
	target string
	armed  atomic.Int64
	word   atomic.Value // string: the first word of the queries to cut
	cuts   atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Start listens on 127.0.0.1 and forwards every connection to target ("host:port").
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Host and Port are where clients connect.
func (p *Proxy) Host() string { return "127.0.0.1" }

// Port is the proxy's port.
func (p *Proxy) Port() string { return strconv.Itoa(p.ln.Addr().(*net.TCPAddr).Port) }

// Arm makes the next n COMMITs (of any connection) that succeed lose their answer.
func (p *Proxy) Arm(n int) { p.ArmQuery(n, "commit") }

// ArmQuery makes the next n simple-protocol queries whose first word is word (any case) and that succeed lose
// their answer: an INSERT in its own implicit transaction, say.
func (p *Proxy) ArmQuery(n int, word string) {
	p.word.Store(word)
	p.armed.Store(int64(n))
}

// Cuts is how many queries lost their answer so far; each of them succeeded on the server. An armed query that
// fails is answered as usual and leaves the cut for the next one.
func (p *Proxy) Cuts() int { return int(p.cuts.Load()) }

// Close stops listening, closes every connection and waits for the forwarding goroutines to end.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(client)
		}()
	}
}

func (p *Proxy) serve(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)

	var cutting atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.fromServer(server, client, &cutting)
		client.Close()
		server.Close()
	}()
	p.fromClient(client, server, &cutting)
	client.Close()
	server.Close()
	<-done
}

// Request codes of the untyped first messages (PostgreSQL's pqcomm.h).
const (
	sslRequest    = 80877103
	gssencRequest = 80877104
)

// fromClient forwards the client's messages; a COMMIT while armed marks the connection for cutting first.
func (p *Proxy) fromClient(client, server net.Conn, cutting *atomic.Bool) {
	for {
		msg, err := readUntyped(client)
		if err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(msg[4:8]); code == sslRequest || code == gssencRequest {
			if _, err := client.Write([]byte{'N'}); err != nil {
				return
			}
			continue
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
		break
	}
	for {
		msg, err := readTyped(client)
		if err != nil {
			return
		}
		if msg[0] == 'Q' && p.matches(msg[5:]) && p.take() {
			cutting.Store(true)
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
	}
}

// fromServer forwards the server's messages until the answer to a cut query, which it drops with the connection:
// only a success (CommandComplete) is cut, so that every cut query took effect.
func (p *Proxy) fromServer(server, client net.Conn, cutting *atomic.Bool) {
	for {
		msg, err := readTyped(server)
		if err != nil {
			return
		}
		if cutting.Load() {
			if msg[0] == 'C' {
				p.cuts.Add(1)
				return
			}
			// An error (the query failed: nothing committed) goes through, the connection is not cut, and the cut
			// waits for the next matching query.
			if msg[0] == 'E' {
				cutting.Store(false)
				p.armed.Add(1)
			}
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}

func (p *Proxy) take() bool {
	for {
		n := p.armed.Load()
		if n <= 0 {
			return false
		}
		if p.armed.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (p *Proxy) matches(query []byte) bool {
	word, _ := p.word.Load().(string)
	fields := bytes.Fields(bytes.TrimSuffix(query, []byte{0}))
	return len(fields) > 0 && bytes.EqualFold(bytes.TrimRight(fields[0], ";"), []byte(word))
}

// maxMessage bounds what the forwarder buffers; a bigger message is an error, not an allocation.
const maxMessage = 64 << 20

// readUntyped reads a start-up phase message: a length that counts itself, then the body.
func readUntyped(r io.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n < 8 || n > maxMessage {
		return nil, errors.New("commitcut: bad start-up message length")
	}
	msg := make([]byte, n)
	copy(msg, head[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

// readTyped reads a message of the normal phase: a type byte, then a length that counts itself, then the body.
func readTyped(r io.Reader) ([]byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n < 4 || n > maxMessage {
		return nil, errors.New("commitcut: bad message length")
	}
	msg := make([]byte, 1+n)
	copy(msg, head[:])
	_, err := io.ReadFull(r, msg[5:])
	return msg, err
}
