package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/pgtriage/pgtriage/catalog"
)

// Beginner starts pgx transactions: *pgxpool.Pool and *pgx.Conn are Beginners. With a pool every attempt gets a
// connection of its own; a single *pgx.Conn cannot outlive a broken connection, so Tx then stops at the first
// connection failure.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Tx runs fn in a transaction and commits it, and runs the whole transaction again, with the policy's waits, when
// it fails with an error a retry may clear (a restart, a failover, a serialization failure, a deadlock; see
// Classify). fn may run more than once, so it must not have effects outside the transaction. A pool's connection
// that met a read-only server (25006: the old primary after a failover) is closed, so that the retry connects anew.
//
// When the connection breaks during COMMIT, nobody knows whether the transaction committed, and Tx does not run
// it again: it returns an error wrapping ErrCommitUnknown and the error that broke the connection. TxKey finds out
// instead.
func Tx(ctx context.Context, db Beginner, p *Policy, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	return runTx(ctx, p, nil, pgxBegin(db, opts, fn))
}

// TxKey is Tx with an idempotency key: the first statement of every attempt records o.Key.Value in the key table,
// whose unique constraint then tells a retry after a broken COMMIT whether the earlier attempt committed. If it
// did, TxKey returns nil without running fn again; so it does when the key was committed by an earlier call (a
// resubmitted request): the work exists exactly once. Generate the value on the client, once per unit of work
// (a UUID, or the request's id), before the first call.
func TxKey(ctx context.Context, db Beginner, o TxKeyOptions, fn func(pgx.Tx) error) error {
	return runTx(ctx, o.Policy, &o.Key, pgxBegin(db, o.TxOptions, fn))
}

// TxKeyOptions say how TxKey runs the transaction.
type TxKeyOptions struct {
	Policy    *Policy // nil: Interactive()
	TxOptions pgx.TxOptions
	Key       Key // Key.Value is required
}

// Key is a client-generated idempotency key and the table that records it.
type Key struct {
	Value string
	// Table and Column name a text column with a unique constraint; other columns need defaults. Empty means
	// KeyTable's pgtriage_idempotency(key). Table may be schema-qualified ("app.done").
	Table, Column string
}

// KeyTable creates the default key table; run it once, as a migration does. Old keys may be deleted once no
// retry can come (`DELETE FROM pgtriage_idempotency WHERE at < now() - interval '1 day'`).
const KeyTable = `CREATE TABLE IF NOT EXISTS pgtriage_idempotency (key text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`

func (k *Key) insert() string {
	table, column := k.Table, k.Column
	if table == "" {
		table = "pgtriage_idempotency"
	}
	if column == "" {
		column = "key"
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES ($1)",
		pgx.Identifier(strings.Split(table, ".")).Sanitize(), pgx.Identifier{column}.Sanitize())
}

// txHandle is one attempt's transaction, whichever the driver.
type txHandle interface {
	exec(ctx context.Context, sql string, arg string) error
	// run runs the caller's function in the transaction.
	run() error
	commit(ctx context.Context) error
	// rollback ends the transaction after err; a connection that err shows to be useless for the retry goes.
	rollback(ctx context.Context, err error)
	// broken reports whether retrying is pointless because the connection cannot be replaced (a single pgx.Conn).
	broken() bool
}

// runTx runs attempts of a transaction under the policy. An attempt whose COMMIT broke leaves the outcome unknown:
// without a key that ends the retries; with one the next attempt finds out, and if the retries end before that, the
// error still says that the outcome is unknown.
func runTx(ctx context.Context, p *Policy, key *Key, begin func(context.Context) (txHandle, error)) error {
	unknown := false
	err := p.run(ctx, func(ctx context.Context) (bool, error) {
		tx, err := begin(ctx)
		if err != nil {
			return Classify(err).Retry, err
		}
		if key != nil {
			if err := tx.exec(ctx, key.insert(), key.Value); err != nil {
				tx.rollback(ctx, err)
				if isUniqueViolation(err) {
					unknown = false
					return false, nil // committed before: by an earlier attempt or an earlier call
				}
				return Classify(err).Retry && !tx.broken(), err
			}
			// The key was free, so no earlier attempt committed (one still in progress would have made the insert
			// wait for its end).
			unknown = false
		}
		if err := tx.run(); err != nil {
			tx.rollback(ctx, err)
			return Classify(err).Retry && !tx.broken(), err
		}
		if err := tx.commit(ctx); err != nil {
			if !errors.Is(err, pgx.ErrTxCommitRollback) && !Classify(err).NotApplied {
				unknown = true
				if key == nil || ctx.Err() != nil {
					return false, err
				}
				return !tx.broken(), err
			}
			return Classify(err).Retry && !tx.broken(), err
		}
		unknown = false
		return false, nil
	})
	if err != nil && unknown {
		return fmt.Errorf("%w: %w", ErrCommitUnknown, err)
	}
	return err
}

// isUniqueViolation reports a 23505 from any driver (pgconn's *PgError and lib/pq's *pq.Error both say their
// SQLSTATE this way).
func isUniqueViolation(err error) bool {
	var state interface{ SQLState() string }
	return errors.As(err, &state) && state.SQLState() == pgerrcode.UniqueViolation
}

type pgxTx struct {
	tx     pgx.Tx
	fn     func(pgx.Tx) error
	single bool
}

func pgxBegin(db Beginner, opts pgx.TxOptions, fn func(pgx.Tx) error) func(context.Context) (txHandle, error) {
	_, single := db.(*pgx.Conn)
	return func(ctx context.Context) (txHandle, error) {
		tx, err := db.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &pgxTx{tx: tx, fn: fn, single: single}, nil
	}
}

func (t *pgxTx) exec(ctx context.Context, sql string, arg string) error {
	_, err := t.tx.Exec(ctx, sql, arg)
	return err
}
func (t *pgxTx) run() error                       { return t.fn(t.tx) }
func (t *pgxTx) commit(ctx context.Context) error { return t.tx.Commit(ctx) }
func (t *pgxTx) broken() bool                     { return t.single && t.tx.Conn().IsClosed() }

// rollback closes a pool's connection that met a read-only server (25006: the old primary after a failover, or a
// server made read-only), so that the pool connects anew and the retry can find the primary.
func (t *pgxTx) rollback(ctx context.Context, err error) {
	if !t.single && catalog.ClassifyError(err).Code == catalog.ServerReadOnlyTx {
		_ = t.tx.Conn().Close(ctx)
	}
	_ = t.tx.Rollback(ctx)
}
