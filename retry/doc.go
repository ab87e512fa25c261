// Package retry is application retry logic that survives restarts and failovers of PostgreSQL without losing or
// duplicating writes, for pgx, pgxpool and database/sql (pgx's stdlib driver or lib/pq).
//
// # Start
//
// Wrap each unit of work, and let new connections wait out an outage:
//
//	cfg, _ := pgxpool.ParseConfig(connString)
//	retry.PoolConfig(cfg, retry.Interactive())          // new connections ride out the outage
//	pool, _ := pgxpool.NewWithConfig(ctx, cfg)
//
//	err := retry.TxKey(ctx, pool, retry.TxKeyOptions{Policy: retry.Interactive(), Key: retry.Key{Value: orderID}},
//		func(tx pgx.Tx) error {
//			_, err := tx.Exec(ctx, `INSERT INTO orders (id, total) VALUES ($1, $2)`, orderID, total)
//			return err
//		})
//
// Reads go in Do, which runs its function again as often as the policy allows; writes go in a transaction helper
// (Tx, TxKey, SQLTx, SQLTxKey), which runs the whole transaction again.
//
// # What is retried
//
// Classify names the cause of any error through the catalog (the same answer pgtriage check and explain give) and
// says whether a retry may clear it: the catalog's transient causes (57P01 terminated, 57P03 starting up or
// shutting down, 53300 out of connection slots, 25006 read-only after a failover, resets, DNS time-outs), the
// transaction conflicts 40001 and 40P01, for which the whole transaction runs again (they are transient in the
// catalog's category "transaction": the connection is fine), and tcp.refused, which a restart shows for a moment.
// Errors that never clear (28P01 wrong password, 3D000 no such database, TLS and pg_hba refusals) come back at
// once, as they were. The caller's context always wins: once it is cancelled or past its deadline nothing is
// retried, and no wait is begun that would end after the deadline.
//
// # COMMIT and the unknown outcome
//
// When the connection breaks while a COMMIT is on its way, the transaction may have committed or not, and the
// client cannot tell. Running it again may write twice; giving up may lose a write the caller believes failed.
// Tx and SQLTx return an error wrapping ErrCommitUnknown then. TxKey and SQLTxKey record a client-generated key
// in a table with a unique constraint as the transaction's first statement: the retry finds the key (23505) if the
// earlier attempt committed and returns nil without running the work again, or records it and runs the work if
// not. Only an ERROR from the server on the COMMIT (a serialization failure at commit, a deferred constraint)
// proves the transaction rolled back.
//
// # Layers of retries
//
// Drivers retry too, and retries on top of retries multiply attempts or, worse, repeat writes. database/sql runs
// an operation again on another connection, at once, whenever the driver says driver.ErrBadConn: up to twice on
// a pooled or new connection and once more on a new one. It does so for a statement outside a transaction and
// for BeginTx, never for a statement inside a transaction or its COMMIT. pgx's stdlib driver says ErrBadConn when
// pgconn.SafeToRetry says nothing was sent, and lib/pq for an EOF and for every FATAL error; both also say it when
// the answer to a sent statement was lost, so database/sql itself may run an autocommit INSERT twice (see
// TestDatabaseSQLRunsAStatementAgain). Hence: writes through database/sql belong in SQLTx or SQLTxKey; database/sql's
// own quick retries in BeginTx are left alone (they only replace dead pooled connections); and an error that
// already went through a policy (a *GaveUpError from Connector or an inner helper) is not retried again, so
// stacked helpers add up their attempts instead of multiplying them.
//
// # New connections
//
// PoolConfig (pgxpool) and Connector (database/sql) retry the opening of connections with a policy, so that call
// sites that do not use the helpers see an outage as a delay. Queries already sent on a connection that the
// outage broke still fail: only the helpers can run those again.
package retry
