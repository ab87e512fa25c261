package faultproxy_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// startProxy starts a proxy in front of c that the test closes.
func startProxy(t *testing.T, c *pgtest.Cluster, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	if cfg.Upstream == "" {
		cfg.Upstream = c.Host + ":" + itoa(c.Port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := faultproxy.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPassThrough(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "secret"}}})
	p := startProxy(t, c, faultproxy.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, proxyConnString(p, "user=app password=secret dbname=postgres sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "select 41+1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("select: %d, %v", n, err)
	}
}
