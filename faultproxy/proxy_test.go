package faultproxy_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

func TestPassThrough(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	ev := &events{}
	p := startProxy(t, c, faultproxy.Config{OnEvent: ev.add})
	conn := connect(t, proxyConnString(p, "user=app", "password=secret", "sslmode=disable", "application_name=pt"))
	var n int
	if err := conn.QueryRow(testCtx(t), "select 41+1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("select: %d, %v", n, err)
	}
	s := ev.of(faultproxy.EventSession)
	if len(s) != 1 || s[0].User != "app" || s[0].Database != "postgres" || s[0].App != "pt" {
		t.Errorf("session events: %+v", s)
	}
}

// TestGSSEncRequestRefused: the proxy answers GSSENCRequest with 'N', as a
// server without GSSAPI encryption, and the client goes on in plain text.
func TestGSSEncRequestRefused(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	nc, err := net.DialTimeout("tcp", p.Addr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.GSSEncRequest{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	answer := make([]byte, 1)
	if _, err := io.ReadFull(nc, answer); err != nil || answer[0] != 'N' {
		t.Fatalf("answer to GSSENCRequest: %q, %v", answer, err)
	}
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "postgres", "database": "postgres"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			return
		}
	}
}
