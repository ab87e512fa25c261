package retry

import (
	"context"
	"database/sql"
)

// SQLTx is Tx for database/sql (with pgx's stdlib driver, lib/pq, or any other).
//
// database/sql retries by itself, without waiting, when a driver says driver.ErrBadConn: in BeginTx (a pooled
// connection found dead: up to two pooled or new connections, then one new one), but never for a statement inside
// a transaction or for its COMMIT, which is what makes transactions the safe place for writes. SQLTx adds its waits only
// around whole transactions, and does not retry an error that a retrying Connector gave up on, so attempts add up
// instead of multiplying: see the package documentation.
func SQLTx(ctx context.Context, db *sql.DB, p *Policy, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	return runTx(ctx, p, nil, sqlBegin(db, opts, fn))
}

// SQLTxKey is TxKey for database/sql.
func SQLTxKey(ctx context.Context, db *sql.DB, o SQLTxKeyOptions, fn func(*sql.Tx) error) error {
	return runTx(ctx, o.Policy, &o.Key, sqlBegin(db, o.TxOptions, fn))
}

// SQLTxKeyOptions say how SQLTxKey runs the transaction.
type SQLTxKeyOptions struct {
	Policy    *Policy        // nil: Interactive()
	TxOptions *sql.TxOptions // nil: the driver's defaults
	Key       Key            // Key.Value is required
}

type sqlTx struct {
	tx *sql.Tx
	fn func(*sql.Tx) error
}

func sqlBegin(db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) func(context.Context) (txHandle, error) {
	return func(ctx context.Context) (txHandle, error) {
		tx, err := db.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &sqlTx{tx: tx, fn: fn}, nil
	}
}

func (t *sqlTx) exec(ctx context.Context, query string, arg string) error {
	_, err := t.tx.ExecContext(ctx, query, arg)
	return err
}
func (t *sqlTx) run() error                      { return t.fn(t.tx) }
func (t *sqlTx) commit(context.Context) error    { return t.tx.Commit() }
func (t *sqlTx) rollback(context.Context, error) { _ = t.tx.Rollback() }
func (t *sqlTx) broken() bool                    { return false }
