package probe

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/settings"
)

// fuzzPeer answers every connection with the bytes of the current input: the first byte after the client's first
// message (the SSLRequest's answer, under sslmode=prefer), the rest after its second (the startup message, or a
// TLS ClientHello), and then closes.
type fuzzPeer struct {
	ln   net.Listener
	data atomic.Pointer[[]byte]
}

func startFuzzPeer(f *testing.F) *fuzzPeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	p := &fuzzPeer{ln: ln}
	f.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *fuzzPeer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	data := *p.data.Load()
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return
	}
	rest := data
	if n == 8 && binary.BigEndian.Uint32(buf[4:]) == 80877103 && len(data) > 0 {
		if _, err := c.Write(data[:1]); err != nil {
			return
		}
		rest = data[1:]
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
	if _, err := c.Write(rest); err != nil {
		return
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_, _ = io.Copy(io.Discard, c)
}

// FuzzProbePeer runs the whole check against a peer that sends the fuzzed bytes: no input panics, every verdict is
// a code of the catalog, and the text output holds no raw control character. Seeds are in testdata/fuzz.
func FuzzProbePeer(f *testing.F) {
	peer := startFuzzPeer(f)
	f.Fuzz(func(t *testing.T, data []byte, disable bool) {
		peer.data.Store(&data)
		mode := "prefer"
		if disable {
			mode = "disable"
		}
		s, err := settings.Load("host=127.0.0.1 port=" + portOf(peer.ln) + " user=app dbname=app password=Fuzz3dPw connect_timeout=2 sslmode=" + mode)
		if err != nil {
			t.Fatal(err)
		}
		// The fuzzing engine takes an input that runs 10 s for a deadlock: a check must end well before.
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		start := time.Now()
		r := Run(ctx, s, Options{Trace: true})
		if took := time.Since(start); took > 7*time.Second {
			js, _ := json.Marshal(r)
			t.Fatalf("the check took %s:\n%s", took, js)
		}
		if catalog.Lookup(r.Diagnosis.Code).Code != r.Diagnosis.Code {
			t.Fatalf("verdict %q is not in the catalog", r.Diagnosis.Code)
		}
		var b strings.Builder
		if err := r.WriteText(&b, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\x1b\r\x00") || strings.Contains(b.String(), "Fuzz3dPw") {
			t.Fatalf("the text output holds a control character or the password:\n%q", b.String())
		}
	})
}

func portOf(ln net.Listener) string {
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
