package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/retry"
)

// Behind a real PgBouncer that pools transactions (1.18 passes prepared statements through), two pgx connections
// with pgx's default query mode prepare the same statement name on the one server connection they share: the
// second gets 42P05. That is configuration, so Do does not retry it; the setting the catalog gives
// (default_query_exec_mode=cache_describe, unnamed statements) makes the same work succeed.
func TestPreparedStatementsUnderTransactionPooling(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{PoolMode: "transaction", PoolSize: 1, Users: map[string]string{"app": "secret"}})
	cs := b.ConnString("user=app", "password=secret", "dbname=postgres", "sslmode=disable", "connect_timeout=10")

	first := connect(t, ctx, cs)
	if _, err := first.Exec(ctx, "SELECT $1::int", 1); err != nil {
		t.Fatal(err)
	}
	second := connect(t, ctx, cs)
	attempts := 0
	err := retry.Do(ctx, &retry.Policy{First: time.Millisecond, MaxAttempts: 3}, func(ctx context.Context) error {
		attempts++
		_, err := second.Exec(ctx, "SELECT $1::int", 1)
		return err
	})
	if err == nil {
		t.Fatal("the second connection's prepared statement did not collide with the first's")
	}
	v := retry.Classify(err)
	if v.Cause.Code != catalog.PoolerPreparedStatements || v.Retry || attempts != 1 {
		t.Fatalf("%v: got %s retry=%v after %d attempts, want %s, not retried", err, v.Cause.Code, v.Retry, attempts, catalog.PoolerPreparedStatements)
	}

	fixed := connect(t, ctx, cs+" default_query_exec_mode=cache_describe")
	for range 3 {
		if _, err := fixed.Exec(ctx, "SELECT $1::int", 1); err != nil {
			t.Fatalf("with default_query_exec_mode=cache_describe: %v", err)
		}
	}
}
