package commitcut_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgtriage/pgtriage/internal/commitcut"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// Only a COMMIT that succeeded loses its answer: a failing one is answered, and the session goes on.
func TestCutsOnlySuccessfulCommits(t *testing.T) {
	pgtest.Isolate(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := pgtest.Start(t, pgtest.Options{HBA: []string{"local all all trust", "host all all 127.0.0.1/32 trust"}})
	c.Exec(t, `CREATE TABLE t (id int UNIQUE DEFERRABLE INITIALLY DEFERRED); GRANT ALL ON t TO public`)
	p, err := commitcut.Start(net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	conn, err := pgx.Connect(ctx, c.ConnString("user=postgres", "dbname=postgres", "host="+p.Host(), "port="+p.Port(), "sslmode=prefer"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	p.Arm(1)
	// The deferred unique check fails at COMMIT: an ERROR, nothing committed, answered as usual.
	_, err = conn.Exec(ctx, `BEGIN; INSERT INTO t VALUES (1), (1)`)
	if err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if _, err := conn.Exec(ctx, `COMMIT`); !errors.As(err, &pgErr) || pgErr.Code != "23505" || p.Cuts() != 0 {
		t.Fatalf("failing COMMIT: %v, %d cuts; want 23505 answered and no cut", err, p.Cuts())
	}
	if _, err := conn.Exec(ctx, `BEGIN; INSERT INTO t VALUES (2)`); err != nil {
		t.Fatalf("the session after a failing armed COMMIT: %v", err)
	}
	_, err = conn.Exec(ctx, `COMMIT`)
	if err == nil || p.Cuts() != 1 || !conn.IsClosed() {
		t.Fatalf("armed COMMIT: %v, %d cuts; want an error, 1 cut and a closed connection", err, p.Cuts())
	}
	var n int
	check, err := pgx.Connect(ctx, c.SuperuserConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close(ctx)
	if err := check.QueryRow(ctx, `SELECT count(*) FROM t WHERE id = 2`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the cut COMMIT committed %d rows (%v), want 1", n, err)
	}
}
