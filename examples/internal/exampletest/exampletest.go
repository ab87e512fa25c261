// Package exampletest runs an example application against a real server that restarts while it writes.
package exampletest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// RunAcrossARestart points DATABASE_URL at a new server, runs run with 6 orders while the server restarts (fast)
// somewhere in the middle, and checks that every order and its key are there once.
func RunAcrossARestart(t *testing.T, run func(ctx context.Context, orders int) error) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "secret"}}})
	c.Exec(t, `GRANT ALL ON SCHEMA public TO app`)
	cs := c.ConnString("user=app", "password=secret", "dbname=postgres", "sslmode=disable")
	t.Setenv("DATABASE_URL", cs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	restarted := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond) // somewhere in the middle; the checks hold whenever it happens
		restarted <- c.Cluster.Restart(ctx, "fast")
	}()
	if err := run(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, keys int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM example_orders), (SELECT count(*) FROM pgtriage_idempotency)`).Scan(&n, &keys); err != nil {
		t.Fatal(err)
	}
	if n != 6 || keys != 6 {
		t.Errorf("%d orders and %d keys, want 6 and 6", n, keys)
	}
}
