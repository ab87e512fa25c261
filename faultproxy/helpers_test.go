package faultproxy_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// hba: "app" needs its SCRAM password, postgres and "ghost" (a role that
// does not exist) are trusted on loopback, and any other role has no line.
var hba = []string{
	"local all all trust",
	"host all app 127.0.0.1/32 scram-sha-256",
	"host all postgres,ghost 127.0.0.1/32 trust",
}

func startCluster(t *testing.T, opts pgtest.Options) *pgtest.Cluster {
	t.Helper()
	if opts.HBA == nil {
		opts.HBA = hba
	}
	if opts.Roles == nil {
		opts.Roles = []pgtest.Role{{Name: "app", Password: "secret"}}
	}
	return pgtest.Start(t, opts)
}

// startProxy starts a proxy in front of c that the test closes.
func startProxy(t *testing.T, c *pgtest.Cluster, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	if cfg.Upstream == "" {
		cfg.Upstream = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := faultproxy.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// addFault adds f to p or fails the test.
func addFault(t *testing.T, p *faultproxy.Proxy, f faultproxy.Fault) faultproxy.Fault {
	t.Helper()
	f, err := p.Add(f)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// proxyConnString is a connection string for p with the extra settings kv.
func proxyConnString(p *faultproxy.Proxy, kv ...string) string {
	host, port, _ := net.SplitHostPort(p.Addr())
	return strings.Join(append([]string{"host=" + host, "port=" + port, "connect_timeout=10", "dbname=postgres"}, kv...), " ")
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a pgx connection that the test closes.
func connect(t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// pgError returns err's PgError or fails the test.
func pgError(t *testing.T, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PgError, got %v", err)
	}
	return pe
}

// events records a proxy's events for a test.
type events struct {
	mu  sync.Mutex
	all []faultproxy.Event
}

func (e *events) add(ev faultproxy.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) of(typ faultproxy.EventType) []faultproxy.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []faultproxy.Event
	for _, ev := range e.all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	pgtest.WaitFor(t, what, cond)
}

// zeroTime asks pgtest for its default validity.
var zeroTime time.Time
