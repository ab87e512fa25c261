package pgtest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// A client logs in to PgBouncer and reaches the cluster behind it: the server sees PgBouncer's address and port, not
// the client's connection to PgBouncer.
func TestPgBouncerInFrontOfCluster(t *testing.T) {
	c := Start(t, Options{Roles: []Role{{Name: "app", Password: "s3cret"}}})
	b := StartPgBouncer(t, c, BouncerOptions{PoolMode: "transaction", Users: map[string]string{"app": "s3cret"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, b.ConnString("user=app", "password=s3cret", "dbname=postgres", "sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, "SELECT inet_server_port()").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res[0].Rows[0][0]), c.Port; got != strconv.Itoa(want) {
		t.Errorf("the server's port seen through PgBouncer = %s, want the cluster's %d", got, want)
	}
}
