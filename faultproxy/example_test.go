package faultproxy_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
)

// A test of an application's retry logic: the proxy sits in front of the
// test's server and the first connections fail as during a restart.
func Example() {
	ctx := context.Background()
	p, err := faultproxy.Start(ctx, faultproxy.Config{Listen: "127.0.0.1:0", Upstream: "127.0.0.1:5432"})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	// Every new connection now gets FATAL 57P03 "the database system is starting up".
	f, _ := p.Add(faultproxy.Fault{Kind: faultproxy.KindError, Cause: catalog.ServerStartingUp})
	go func() {
		time.Sleep(2 * time.Second)
		p.Remove(f.ID) // the server is up again
	}()

	// The application under test, pointed at the proxy, should retry until it connects.
	connString := "postgres://app@" + p.Addr() + "/app?sslmode=disable"
	for attempt := 1; ; attempt++ {
		conn, err := pgconn.Connect(ctx, connString)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && catalog.ClassifyError(err).Transient {
			fmt.Println("attempt", attempt, "failed with", pe.Code, "- retrying")
			time.Sleep(500 * time.Millisecond)
			continue
		}
		if err == nil {
			conn.Close(ctx)
		}
		break
	}
}
