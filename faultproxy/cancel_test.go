package faultproxy_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestCancel: query cancellation works through the proxy, both by an explicit
// CancelRequest and by cancelling the query's context, with and without TLS.
func TestCancel(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	ev := &events{}
	p := startProxy(t, c, faultproxy.Config{OnEvent: ev.add})
	admin := connect(t, c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable"))
	sleeping := func(ctx context.Context) bool {
		var n int
		admin.QueryRow(ctx, "select count(*) from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'").Scan(&n)
		return n == 1
	}
	for _, sslmode := range []string{"disable", "require"} {
		t.Run("CancelRequest/"+sslmode, func(t *testing.T) {
			conn := connect(t, proxyConnString(p, "user=app", "password=secret", "sslmode="+sslmode))
			ctx := testCtx(t)
			errc := make(chan error, 1)
			go func() { _, err := conn.Exec(ctx, "select pg_sleep(30)"); errc <- err }()
			waitFor(t, "the query", func() bool { return sleeping(ctx) })
			if err := conn.PgConn().CancelRequest(ctx); err != nil {
				t.Fatal(err)
			}
			if pe := pgError(t, <-errc); pe.Code != "57014" {
				t.Errorf("got %v, want 57014 canceling statement due to user request", pe)
			}
			if _, err := conn.Exec(ctx, "select 1"); err != nil {
				t.Errorf("the session after the cancel: %v", err)
			}
		})
	}
	t.Run("context", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(proxyConnString(p, "user=app", "password=secret", "sslmode=disable"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 60e9}
		}
		ctx := testCtx(t)
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		qctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { _, err := conn.Exec(qctx, "select pg_sleep(30)"); errc <- err }()
		waitFor(t, "the query", func() bool { return sleeping(ctx) })
		cancel()
		if pe := pgError(t, <-errc); pe.Code != "57014" {
			t.Errorf("got %v, want 57014", pe)
		}
	})
	// The events of the cancel connections may come after the queries ended.
	waitFor(t, "three forwarded cancel requests", func() bool {
		cancels := 0
		for _, e := range ev.of(faultproxy.EventClosed) {
			if e.Detail == "cancel request forwarded" {
				cancels++
			}
		}
		return cancels == 3
	})
}
