package retry_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/retry"
)

// start starts a cluster with the role app (password secret) and a table for the tests' writes.
func start(t testing.TB, opts pgtest.Options) *pgtest.Cluster {
	t.Helper()
	opts.Roles = append(opts.Roles, pgtest.Role{Name: "app", Password: "secret"})
	c := pgtest.Start(t, opts)
	c.Exec(t, `GRANT ALL ON SCHEMA public TO app; SET ROLE app; CREATE TABLE items (id bigserial PRIMARY KEY, request text NOT NULL); `+retry.KeyTable)
	return c
}

// app is the connection string of role app, in the given cluster or through a proxy at host:port.
func app(c *pgtest.Cluster, kv ...string) string {
	return c.ConnString(append([]string{"user=app", "password=secret", "dbname=postgres", "sslmode=disable", "connect_timeout=10"}, kv...)...)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func pool(t testing.TB, connString string, configure func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		t.Fatal(err)
	}
	if configure != nil {
		configure(cfg)
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// count returns how many rows of items carry request.
func count(t *testing.T, ctx context.Context, c *pgtest.Cluster, request string) int {
	t.Helper()
	var n int
	if err := connect(t, ctx, app(c)).QueryRow(ctx, `SELECT count(*) FROM items WHERE request = $1`, request).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// events records a policy's retries; react, when set, runs in the retrying goroutine before each wait.
type events struct {
	mu    sync.Mutex
	codes []catalog.Code
	react func(retry.Event)
}

func (e *events) policy() *retry.Policy {
	return &retry.Policy{First: 20 * time.Millisecond, Max: 200 * time.Millisecond, Jitter: 1, MaxAttempts: 200, MaxElapsed: time.Minute,
		OnRetry: func(ev retry.Event) {
			e.mu.Lock()
			e.codes = append(e.codes, ev.Cause.Code)
			e.mu.Unlock()
			if e.react != nil {
				e.react(ev)
			}
		}}
}

func (e *events) seen() []catalog.Code {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]catalog.Code(nil), e.codes...)
}

func (e *events) has(code catalog.Code) bool {
	for _, c := range e.seen() {
		if c == code {
			return true
		}
	}
	return false
}

// connect opens a pgx connection that the test closes.
func connect(t *testing.T, ctx context.Context, connString string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// lossy is a faultproxy in front of a cluster that loses the answers to queries on demand, since a real server
// cannot be made to.
type lossy struct {
	p     *faultproxy.Proxy
	armed string // the lose_answer fault in force, "" for none
	lost  atomic.Int64
}

// cut puts a lossy proxy in front of c and returns it with app's connection string through it.
func cut(t *testing.T, c *pgtest.Cluster) (*lossy, string) {
	t.Helper()
	l := &lossy{}
	p, err := faultproxy.Start(ctxFor(t), faultproxy.Config{
		Upstream:    net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		NoClientTLS: true,
		OnEvent: func(e faultproxy.Event) {
			if e.Type == faultproxy.EventFault && e.Kind == faultproxy.KindLoseAnswer {
				l.lost.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	l.p = p
	host, port, _ := net.SplitHostPort(p.Addr())
	return l, app(c, "host="+host, "port="+port)
}

// arm makes the next simple-protocol query (of any connection) whose first word is statement and that succeeds lose
// its answer, in place of what was armed before.
func (l *lossy) arm(t *testing.T, statement string) {
	t.Helper()
	if l.armed != "" {
		l.p.Remove(l.armed)
	}
	f, err := l.p.Add(faultproxy.Fault{Kind: faultproxy.KindLoseAnswer, Statement: statement, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	l.armed = f.ID
}

// cuts is how many answers were lost so far.
func (l *lossy) cuts() int { return int(l.lost.Load()) }

func isGaveUp(err error) bool {
	var g *retry.GaveUpError
	return errors.As(err, &g)
}

func newPool(ctx context.Context, connString string) (*pgxpool.Pool, error) {
	p, err := pgxpool.New(ctx, connString)
	if err != nil {
		return nil, err
	}
	if err := p.Ping(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}
