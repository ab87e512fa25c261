package retry_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lib/pq"
	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/retry"
)

// outage stops the server and sets ev to bring it back in the retries: a smart shutdown held by one session
// (57P03 shutting down), which ends when the retries have seen it, then refusals until the server is resumed.
func outage(t *testing.T, ctx context.Context, c *pgtest.Cluster, ev *events) {
	t.Helper()
	held := connect(t, ctx, app(c))
	c.StopSmart(t)
	ev.react = func(e retry.Event) {
		switch e.Cause.Code {
		case catalog.ServerShuttingDown:
			held.Close(ctx)
		case catalog.TCPRefused:
			c.Resume(t)
		}
	}
}

func sawOutage(t *testing.T, ev *events) {
	t.Helper()
	if !ev.has(catalog.ServerShuttingDown) || !ev.has(catalog.TCPRefused) {
		t.Errorf("retries saw %v, want server.shutting_down and tcp.refused", ev.seen())
	}
}

// A pool's call sites (here pool.Exec) see an outage as a delay with PoolConfig, and as an error without.
func TestPoolConfigRidesOutAnOutage(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})

	plain := pool(t, app(c), nil)
	c.Stop(t, "fast")
	if _, err := plain.Exec(ctx, "select 1"); retry.Classify(err).Cause.Code != catalog.TCPRefused {
		t.Errorf("a plain pool while the server is down: %v, want tcp.refused", err)
	}
	c.Resume(t)

	var ev events
	p := pool(t, app(c), func(cfg *pgxpool.Config) { retry.PoolConfig(cfg, ev.policy()) })
	outage(t, ctx, c, &ev)
	if _, err := p.Exec(ctx, "select 1"); err != nil {
		t.Fatalf("pool with PoolConfig: %v (retries saw %v)", err, ev.seen())
	}
	sawOutage(t, &ev)

	// A persistent error is not retried.
	var ev2 events
	bad := pool(t, c.ConnString("user=app", "password=wrong", "dbname=postgres", "sslmode=disable"),
		func(cfg *pgxpool.Config) { retry.PoolConfig(cfg, ev2.policy()) })
	if _, err := bad.Exec(ctx, "select 1"); retry.Classify(err).Cause.Code != catalog.AuthPasswordFailed || len(ev2.seen()) != 0 {
		t.Errorf("wrong password: %v after retries %v", err, ev2.seen())
	}
}

// database/sql through Connector, with pgx's stdlib driver and with lib/pq.
func TestConnectorRidesOutAnOutage(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	connectors := map[string]func(cs string) driver.Connector{
		"pgx": func(cs string) driver.Connector {
			cfg, err := pgx.ParseConfig(cs)
			if err != nil {
				t.Fatal(err)
			}
			return stdlib.GetConnector(*cfg)
		},
		"lib/pq": func(cs string) driver.Connector {
			c, err := pq.NewConnector(cs)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
	for name, connector := range connectors {
		t.Run(name, func(t *testing.T) {
			c := start(t, pgtest.Options{})
			var ev events
			db := sql.OpenDB(retry.Connector(connector(app(c)), ev.policy()))
			defer db.Close()
			outage(t, ctx, c, &ev)
			if _, err := db.ExecContext(ctx, "select 1"); err != nil {
				t.Fatalf("db.ExecContext: %v (retries saw %v)", err, ev.seen())
			}
			sawOutage(t, &ev)
		})
	}
}

// countingDials is a pgx connection string's connector whose dials are counted: every connection attempt the
// server could see.
func countingDials(t *testing.T, cs string, dials *atomic.Int64, opts ...stdlib.OptionOpenDB) driver.Connector {
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	return stdlib.GetConnector(*cfg, opts...)
}

// Layers of retries add up instead of multiplying: database/sql's own retries, a retrying Connector and SQLTx
// on top make exactly as many attempts as the policy that gives up says.
func TestAttemptsDoNotMultiply(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	// bump counts its runs in a sequence, which no rollback undoes, and fails as a real serialization failure does.
	c.Exec(t, `SET ROLE app; CREATE SEQUENCE runs; CREATE FUNCTION bump() RETURNS void LANGUAGE plpgsql AS
		$$ BEGIN PERFORM nextval('runs'); RAISE EXCEPTION 'could not serialize access due to concurrent update' USING ERRCODE = 'serialization_failure'; END $$`)
	three := func() *retry.Policy { return &retry.Policy{First: time.Millisecond, MaxAttempts: 3} }
	runs := func() int64 {
		var n int64
		if err := connect(t, ctx, app(c)).QueryRow(ctx, `SELECT last_value FROM runs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var dials atomic.Int64
	db := sql.OpenDB(retry.Connector(countingDials(t, app(c), &dials), three()))
	defer db.Close()
	err := retry.SQLTx(ctx, db, three(), nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT bump()`)
		return err
	})
	if retry.Classify(err).Cause.Code != catalog.TxSerializationFailure || runs() != 3 {
		t.Errorf("SQLTx of a transaction that always fails with 40001: %v, %d runs on the server, want 3", err, runs())
	}
	err = retry.Do(ctx, three(), func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, `SELECT bump()`)
		return err
	})
	if runs() != 6 {
		t.Errorf("Do around db.ExecContext: %v, %d runs on the server in all, want 6", err, runs())
	}

	// The server is down: the Connector makes its 3 attempts and gives up; SQLTx does not start over.
	dials.Store(0)
	db.SetMaxIdleConns(0) // no pooled connection to fall back on
	c.Stop(t, "fast")
	err = retry.SQLTx(ctx, db, three(), nil, func(*sql.Tx) error { return nil })
	if !isGaveUp(err) || dials.Load() != 3 {
		t.Errorf("server down, Connector and SQLTx with 3 attempts each: %v after %d dials, want 3", err, dials.Load())
	}
	// Without a retrying Connector, SQLTx's attempts are the only ones: database/sql does not retry a failed connect.
	dials.Store(0)
	plain := sql.OpenDB(countingDials(t, app(c), &dials))
	defer plain.Close()
	err = retry.SQLTx(ctx, plain, three(), nil, func(*sql.Tx) error { return nil })
	if !isGaveUp(err) || dials.Load() != 3 {
		t.Errorf("server down, SQLTx with 3 attempts: %v after %d dials, want 3", err, dials.Load())
	}
}

// PoolConfig's probe speaks TLS as the pool does, and a TLS refusal is not retried.
func TestPoolConfigOverTLS(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{TLS: true})
	for _, tc := range []struct {
		ca   string
		want catalog.Code
	}{
		{c.CAFile, catalog.OK},
		{pgtest.NewCA(t).File, catalog.TLSUntrustedCert},
	} {
		var ev events
		p := pool(t, app(c, "host=localhost", "sslmode=verify-full", "sslrootcert="+tc.ca), func(cfg *pgxpool.Config) { retry.PoolConfig(cfg, ev.policy()) })
		_, err := p.Exec(ctx, "select 1")
		if got := retry.Classify(err).Cause.Code; got != tc.want || len(ev.seen()) != 0 {
			t.Errorf("verify-full: %v (%s), retries %v; want %s and no retry", err, got, ev.seen(), tc.want)
		}
	}
}

// What PoolConfig's probe costs: opening one pool connection with and without it (SCRAM over loopback), measured
// alternately: go test -run '^$' -bench PoolConnect ./retry
func BenchmarkPoolConnect(b *testing.B) {
	c := start(b, pgtest.Options{})
	for range 3 {
		for _, tc := range []struct {
			name      string
			configure func(*pgxpool.Config)
		}{
			{"plain", func(cfg *pgxpool.Config) { cfg.MaxConns = 1 }},
			{"PoolConfig", func(cfg *pgxpool.Config) { cfg.MaxConns = 1; retry.PoolConfig(cfg, retry.Interactive()) }},
		} {
			b.Run(tc.name, func(b *testing.B) {
				ctx := context.Background()
				p := pool(b, app(c), tc.configure)
				for b.Loop() {
					conn, err := p.Acquire(ctx)
					if err != nil {
						b.Fatal(err)
					}
					conn.Conn().Close(ctx) // the pool destroys it on release, so every Acquire connects anew
					conn.Release()
				}
			})
		}
	}
}

// After a restart, database/sql replaces the dead pooled connections by itself (the stdlib driver's ping in
// ResetSession says driver.ErrBadConn before anything is sent), and SQLTx adds no attempt of its own: one run of
// the transaction on the server, one new connection, no retry.
func TestDatabaseSQLReplacesDeadConnectionsAlone(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	var dials atomic.Int64
	// Ping at every reuse, not only after a second of idleness, so that the test does not depend on timing.
	always := stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool { return true })
	db := sql.OpenDB(countingDials(t, app(c), &dials, always))
	defer db.Close()
	db.SetMaxIdleConns(2)
	// Two pooled connections, both idle.
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c1.Close()
	c2.Close()

	c.Restart(t, "fast")
	dials.Store(0)
	var ev events
	err = retry.SQLTx(ctx, db, ev.policy(), nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO items (request) VALUES ('after restart')`)
		return err
	})
	if err != nil || len(ev.seen()) != 0 || dials.Load() != 1 || count(t, ctx, c, "after restart") != 1 {
		t.Errorf("SQLTx after a restart: %v, retries %v, %d dials, %d rows; want nil, none, 1, 1",
			err, ev.seen(), dials.Load(), count(t, ctx, c, "after restart"))
	}
}
