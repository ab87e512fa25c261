package retry_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	_ "github.com/lib/pq" // database/sql driver "postgres", used for real
	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/retry"
)

// client is one way an application reaches PostgreSQL; each returns the error of a connection and a statement.
type client struct {
	name string
	// connect opens a connection and runs select 1.
	connect func(ctx context.Context, connString string) error
	// session opens a connection and returns a function that runs a statement on that same connection.
	session func(ctx context.Context, t *testing.T, connString string) func(sql string) error
}

var clients = []client{
	{
		name:    "pgx",
		connect: func(ctx context.Context, cs string) error { return selectOne(cs)(ctx) },
		session: func(ctx context.Context, t *testing.T, cs string) func(string) error {
			conn := connect(t, ctx, cs)
			return func(q string) error { _, err := conn.Exec(ctx, q); return err }
		},
	},
	{
		name: "pgxpool",
		connect: func(ctx context.Context, cs string) error {
			p, err := newPool(ctx, cs)
			if err != nil {
				return err
			}
			defer p.Close()
			_, err = p.Exec(ctx, "select 1")
			return err
		},
		session: func(ctx context.Context, t *testing.T, cs string) func(string) error {
			p, err := newPool(ctx, cs+" pool_max_conns=1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			if _, err := p.Exec(ctx, "select 1"); err != nil {
				t.Fatal(err)
			}
			return func(q string) error { _, err := p.Exec(ctx, q); return err }
		},
	},
	sqlClient("database/sql+pgx", "pgx"),
	sqlClient("database/sql+lib/pq", "postgres"),
}

// sqlClient runs statements on one sql.Conn, so that database/sql cannot quietly swap a broken connection.
func sqlClient(name, driver string) client {
	return client{
		name: name,
		connect: func(ctx context.Context, cs string) error {
			db, err := sql.Open(driver, cs)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.ExecContext(ctx, "select 1")
			return err
		},
		session: func(ctx context.Context, t *testing.T, cs string) func(string) error {
			db, err := sql.Open(driver, cs)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			if _, err := conn.ExecContext(ctx, "select 1"); err != nil {
				t.Fatal(err)
			}
			return func(q string) error { _, err := conn.ExecContext(ctx, q); return err }
		},
	}
}

type want struct {
	code               catalog.Code
	transient, retried bool
}

func check(t *testing.T, what string, err error, w want) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	v := retry.Classify(err)
	if v.Cause.Code != w.code || retry.IsTransient(err) != w.transient || v.Retry != w.retried {
		t.Errorf("%s: %v\n  got %s transient=%v retry=%v, want %s transient=%v retry=%v",
			what, err, v.Cause.Code, retry.IsTransient(err), v.Retry, w.code, w.transient, w.retried)
	}
}

// Real servers' errors through every client: the persistent ones are not retried, the transient ones are.
func TestClassifyRealErrors(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	c.Exec(t, `SET ROLE app; CREATE FUNCTION whoami() RETURNS int LANGUAGE sql AS 'select pg_backend_pid()'`)
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			check(t, "wrong password", cl.connect(ctx, c.ConnString("user=app", "password=wrong", "dbname=postgres", "sslmode=disable")),
				want{catalog.AuthPasswordFailed, false, false})
			check(t, "no such database", cl.connect(ctx, app(c, "dbname=nope")), want{catalog.DBNotFound, false, false})

			run := cl.session(ctx, t, app(c))
			if err := run(`SET default_transaction_read_only = on`); err != nil {
				t.Fatal(err)
			}
			check(t, "read-only transaction", run(`INSERT INTO items (request) VALUES ('x')`), want{catalog.ServerReadOnlyTx, true, true})
			if err := run(`RESET default_transaction_read_only`); err != nil {
				t.Fatal(err)
			}
			// The session ends itself: 57P01 comes as the statement's answer. lib/pq turns every FATAL error into
			// driver.ErrBadConn, so all that is left to classify is a broken connection.
			terminated := catalog.ServerTerminated
			if cl.name == "database/sql+lib/pq" {
				terminated = catalog.ConnReset
			}
			check(t, "terminated", run(`SELECT pg_terminate_backend(whoami())`), want{terminated, true, true})
		})
	}
}

func TestClassifyLimitsAndShutdown(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{MaxConnections: 4, ReservedConnections: 1})
	// Three ordinary slots: fill them, then every client meets 53300.
	for i := 0; i < 3; i++ {
		c.Hold(t, app(c))
	}
	for _, cl := range clients {
		// "remaining connection slots are reserved", or "too many clients already" while the backend of the client
		// before is still on its way out: both 53300, both transient.
		err := cl.connect(ctx, app(c))
		if v := retry.Classify(err); v.Cause.Code == catalog.LimitsTooManyConnections {
			check(t, cl.name+": no slot", err, want{catalog.LimitsTooManyConnections, true, true})
		} else {
			check(t, cl.name+": slots reserved", err, want{catalog.LimitsReservedSlots, true, true})
		}
	}

	d := start(t, pgtest.Options{})
	d.Hold(t, app(d))
	d.StopSmart(t)
	for _, cl := range clients {
		check(t, cl.name+": shutting down", cl.connect(ctx, app(d)), want{catalog.ServerShuttingDown, true, true})
	}

	e := start(t, pgtest.Options{})
	e.Stop(t, "fast")
	for _, cl := range clients {
		// Refused is persistent in the catalog (a server that stays down needs someone), but a restart shows it
		// for a moment, so the policy retries it within its caps.
		check(t, cl.name+": refused", cl.connect(ctx, app(e)), want{catalog.TCPRefused, false, true})
	}
}

// The caller's cancellation ends the retries at once, whatever the driver made of it: pgx's stdlib driver turns a
// statement refused for a cancelled context into driver.ErrBadConn, which Classify alone calls transient.
func TestCancelledContextIsNotRetried(t *testing.T) {
	pgtest.Isolate(t)
	c := start(t, pgtest.Options{})
	for _, cl := range clients {
		ctx, cancel := context.WithCancel(context.Background())
		run := cl.session(ctx, t, app(c))
		cancel()
		attempts := 0
		err := retry.Do(ctx, nil, func(context.Context) error {
			attempts++
			return run("select 1")
		})
		if attempts != 1 {
			t.Errorf("%s: %d attempts after cancel (%v)", cl.name, attempts, err)
		}
		if err != nil && isGaveUp(err) && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: gave up without saying the context was cancelled: %v", cl.name, err)
		}
	}
	if v := retry.Classify(fmt.Errorf("wrapped: %w", context.DeadlineExceeded)); v.Retry || retry.IsTransient(context.Canceled) {
		t.Error("the context's end is retried")
	}
}

// A certificate from a CA the client does not trust is persistent, through every client.
func TestClassifyTLS(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{TLS: true})
	other := pgtest.NewCA(t)
	for _, cl := range clients {
		err := cl.connect(ctx, app(c, "host=localhost", "sslmode=verify-full", "sslrootcert="+other.File))
		check(t, cl.name+": untrusted certificate", err, want{catalog.TLSUntrustedCert, false, false})
	}
}
