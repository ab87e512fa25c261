package retry_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/retry"
)

// A real serialization failure (40001) rolls the transaction back; Tx runs it again and it commits.
func TestTxRetriesSerializationFailure(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	c.Exec(t, `SET ROLE app; CREATE TABLE counter (n int); INSERT INTO counter VALUES (0)`)
	p := pool(t, app(c), nil)
	var ev events
	runs := 0
	err := retry.Tx(ctx, p, ev.policy(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		runs++
		var n int
		if err := tx.QueryRow(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
			return err
		}
		if runs == 1 { // another session updates the row after this transaction's snapshot
			if _, err := p.Exec(ctx, `UPDATE counter SET n = n + 10`); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE counter SET n = $1`, n+1)
		return err
	})
	var n int
	if err2 := p.QueryRow(ctx, `SELECT n FROM counter`).Scan(&n); err2 != nil {
		t.Fatal(err2)
	}
	if err != nil || runs != 2 || n != 11 || !ev.has(catalog.TxSerializationFailure) {
		t.Errorf("Tx: %v after %d runs, n=%d, retries saw %v; want nil after 2 runs, n=11, tx.serialization_failure", err, runs, n, ev.seen())
	}
}

// A restart in the middle of a transaction: the transaction runs again on a new connection, and the row is
// there once.
func TestTxRidesOutARestart(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	p := pool(t, app(c), nil)
	var ev events
	runs := 0
	err := retry.Tx(ctx, p, ev.policy(), pgx.TxOptions{}, func(tx pgx.Tx) error {
		runs++
		if _, err := tx.Exec(ctx, `INSERT INTO items (request) VALUES ('restart')`); err != nil {
			return err
		}
		if runs == 1 {
			c.Restart(t, "fast")
		}
		_, err := tx.Exec(ctx, `SELECT 1`)
		return err
	})
	if err != nil || count(t, ctx, c, "restart") != 1 || runs < 2 {
		t.Errorf("Tx: %v after %d runs, %d rows, retries saw %v", err, runs, count(t, ctx, c, "restart"), ev.seen())
	}
}

// committing is one way to run a transaction that inserts request into items, for the commit-break tests.
type committing struct {
	name string
	// tx runs the insert in a transaction through the helper, with the key when key is not empty, and returns how
	// often the insert ran and the helper's error.
	tx func(ctx context.Context, t *testing.T, connString string, p *retry.Policy, key, request string) (int, error)
}

var committers = []committing{
	{"pgxpool", func(ctx context.Context, t *testing.T, cs string, p *retry.Policy, key, request string) (int, error) {
		db := pool(t, cs, nil)
		runs := 0
		fn := func(tx pgx.Tx) error {
			runs++
			_, err := tx.Exec(ctx, `INSERT INTO items (request) VALUES ($1)`, request)
			return err
		}
		if key == "" {
			err := retry.Tx(ctx, db, p, pgx.TxOptions{}, fn)
			return runs, err
		}
		err := retry.TxKey(ctx, db, retry.TxKeyOptions{Policy: p, Key: retry.Key{Value: key}}, fn)
		return runs, err
	}},
	sqlCommitter("database/sql+pgx", "pgx"),
	sqlCommitter("database/sql+lib/pq", "postgres"),
}

func sqlCommitter(name, driver string) committing {
	return committing{name, func(ctx context.Context, t *testing.T, cs string, p *retry.Policy, key, request string) (int, error) {
		db, err := sql.Open(driver, cs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		runs := 0
		fn := func(tx *sql.Tx) error {
			runs++
			_, err := tx.ExecContext(ctx, `INSERT INTO items (request) VALUES ($1)`, request)
			return err
		}
		if key == "" {
			err := retry.SQLTx(ctx, db, p, nil, fn)
			return runs, err
		}
		err = retry.SQLTxKey(ctx, db, retry.SQLTxKeyOptions{Policy: p, Key: retry.Key{Value: key}}, fn)
		return runs, err
	}}
}

// The connection breaks after the server committed and before the client heard: without a key the helpers say
// the outcome is unknown and do not run the work again; with one they find out it committed and return nil.
// faultproxy's lose_answer loses the COMMIT's answer, since a real server cannot be made to.
func TestCommitBreak(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	proxy, through := cut(t, c)
	for _, cm := range committers {
		t.Run(cm.name, func(t *testing.T) {
			var ev events
			request := cm.name + " no key"
			proxy.arm(t, "COMMIT")
			runs, err := cm.tx(ctx, t, through, ev.policy(), "", request)
			if !errors.Is(err, retry.ErrCommitUnknown) || runs != 1 || count(t, ctx, c, request) != 1 {
				t.Errorf("without a key: %v after %d runs, %d rows; want ErrCommitUnknown, 1 run, 1 row (the commit happened)",
					err, runs, count(t, ctx, c, request))
			}

			request = cm.name + " key"
			key := fmt.Sprintf("%s-%d", cm.name, time.Now().UnixNano())
			proxy.arm(t, "COMMIT")
			runs, err = cm.tx(ctx, t, through, ev.policy(), key, request)
			if err != nil || runs != 1 || count(t, ctx, c, request) != 1 {
				t.Errorf("with a key: %v after %d runs, %d rows; want nil, 1 run, 1 row", err, runs, count(t, ctx, c, request))
			}
			// The same key again (a resubmitted request) finds the work done and does not run it.
			runs, err = cm.tx(ctx, t, through, ev.policy(), key, request)
			if err != nil || runs != 0 || count(t, ctx, c, request) != 1 {
				t.Errorf("the key again: %v after %d runs, %d rows; want nil, 0 runs, 1 row", err, runs, count(t, ctx, c, request))
			}
		})
	}
	if proxy.cuts() != 2*len(committers) {
		t.Errorf("the proxy lost the answers to %d commits, want %d", proxy.cuts(), 2*len(committers))
	}
}

// What the drivers say when the answer to a statement they sent is lost, pinned so that an upgrade that changes it
// shows up. pgx v5.12 says "conn closed", which claims SafeToRetry (nothing was sent) although the COMMIT was
// sent and committed; so the helpers never trust SafeToRetry after a statement went out.
func TestPgxSafeToRetryAfterALostAnswer(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	proxy, through := cut(t, c)
	tx, err := connect(t, ctx, through).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO items (request) VALUES ('lost answer')`); err != nil {
		t.Fatal(err)
	}
	proxy.arm(t, "COMMIT")
	err = tx.Commit(ctx)
	if !pgconn.SafeToRetry(err) || count(t, ctx, c, "lost answer") != 1 {
		t.Errorf("commit whose answer was lost: %v, SafeToRetry %v, %d rows; pgx changed: revisit Classification.NotApplied",
			err, pgconn.SafeToRetry(err), count(t, ctx, c, "lost answer"))
	}
}

// database/sql runs an autocommit statement a second time when the driver reports the lost answer as
// driver.ErrBadConn: a retry the application never asked for, and a duplicate write. Inside a transaction it does
// not (TestCommitBreak).
func TestDatabaseSQLRunsAStatementAgain(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	proxy, through := cut(t, c)
	for _, driver := range []string{"pgx", "postgres"} {
		db, err := sql.Open(driver, through)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		request := "autocommit " + driver
		proxy.arm(t, "INSERT")
		_, err = db.ExecContext(ctx, `INSERT INTO items (request) VALUES ('`+request+`')`)
		t.Logf("%s: ExecContext: %v; %d rows", driver, err, count(t, ctx, c, request))
		if err != nil || count(t, ctx, c, request) != 2 {
			t.Errorf("%s: %v, %d rows; database/sql no longer runs the statement again: revisit DoAtMostOnce's note", driver, err, count(t, ctx, c, request))
		}
	}
}

// A single *pgx.Conn cannot outlive its connection: Tx stops at the first connection failure instead of retrying
// on a closed connection until the policy gives up.
func TestTxOnASingleConnStopsWhenItBreaks(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	var ev events
	runs := 0
	err := retry.Tx(ctx, connect(t, ctx, app(c)), ev.policy(), pgx.TxOptions{}, func(tx pgx.Tx) error {
		runs++
		_, err := tx.Exec(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
		return err
	})
	if retry.Classify(err).Cause.Code != catalog.ServerTerminated || runs != 1 || len(ev.seen()) != 0 || isGaveUp(err) {
		t.Errorf("Tx on a single conn that breaks: %v after %d runs, retries %v; want 57P01 at once", err, runs, ev.seen())
	}
}

// A real deadlock (40P01): two transactions lock two rows in opposite orders; the server rolls one back and Tx
// runs it again, so both commit.
func TestTxRetriesDeadlock(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	c.Exec(t, `SET ROLE app; CREATE TABLE pair (id int PRIMARY KEY, n int); INSERT INTO pair VALUES (1, 0), (2, 0)`)
	p := pool(t, app(c), nil)
	var ev [2]events
	locked := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			runs := 0
			errs <- retry.Tx(ctx, p, ev[i].policy(), pgx.TxOptions{}, func(tx pgx.Tx) error {
				runs++
				if _, err := tx.Exec(ctx, `UPDATE pair SET n = n + 1 WHERE id = $1`, i+1); err != nil {
					return err
				}
				if runs == 1 { // both hold their first row before either asks for the other's
					close(locked[i])
					<-locked[1-i]
				}
				_, err := tx.Exec(ctx, `UPDATE pair SET n = n + 1 WHERE id = $1`, 2-i)
				return err
			})
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var total int
	if err := p.QueryRow(ctx, `SELECT sum(n) FROM pair`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != 4 || !ev[0].has(catalog.TxDeadlock) && !ev[1].has(catalog.TxDeadlock) {
		t.Errorf("sum %d (want 4), retries saw %v and %v; want a tx.deadlock", total, ev[0].seen(), ev[1].seen())
	}
}

// A key table of the application's own (schema-qualified, another column name) works as the default one.
func TestTxKeyInOwnTable(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	c.Exec(t, `CREATE SCHEMA shop AUTHORIZATION app; SET ROLE app; CREATE TABLE shop."Done" (request_id text PRIMARY KEY, note text DEFAULT 'x')`)
	proxy, through := cut(t, c)
	p := pool(t, through, nil)
	key := retry.Key{Value: "order-7", Table: `shop.Done`, Column: "request_id"}
	runs := 0
	for range 2 { // the second call is a resubmission: the key is found, the work does not run
		proxy.arm(t, "COMMIT")
		err := retry.TxKey(ctx, p, retry.TxKeyOptions{Key: key}, func(tx pgx.Tx) error {
			runs++
			_, err := tx.Exec(ctx, `INSERT INTO items (request) VALUES ('own table')`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 || count(t, ctx, c, "own table") != 1 {
		t.Errorf("%d runs, %d rows; want 1 and 1", runs, count(t, ctx, c, "own table"))
	}
}

// A pooled connection that meets a read-only server (25006) is closed, so that the retry connects anew: here the
// first connection is read-only and the second is not, as after a failover.
func TestTxLeavesAReadOnlyConnection(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	var first atomic.Bool
	p := pool(t, app(c, "pool_max_conns=1"), func(cfg *pgxpool.Config) {
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			if first.CompareAndSwap(false, true) {
				_, err := conn.Exec(ctx, `SET default_transaction_read_only = on`)
				return err
			}
			return nil
		}
	})
	var ev events
	runs := 0
	err := retry.Tx(ctx, p, ev.policy(), pgx.TxOptions{}, func(tx pgx.Tx) error {
		runs++
		_, err := tx.Exec(ctx, `INSERT INTO items (request) VALUES ('read-only')`)
		return err
	})
	if err != nil || runs != 2 || !ev.has(catalog.ServerReadOnlyTx) || count(t, ctx, c, "read-only") != 1 {
		t.Errorf("Tx: %v after %d runs, retries %v; want nil after 2 runs past a server.read_only_transaction", err, runs, ev.seen())
	}
}
