package faultproxy_test

import (
	"testing"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

func TestPassThrough(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	ev := &events{}
	p := startProxy(t, c, faultproxy.Config{OnEvent: ev.add})
	conn := connect(t, proxyConnString(p, "user=app", "password=secret", "sslmode=disable", "application_name=pt"))
	var n int
	if err := conn.QueryRow(testCtx(t), "select 41+1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("select: %d, %v", n, err)
	}
	s := ev.of(faultproxy.EventSession)
	if len(s) != 1 || s[0].User != "app" || s[0].Database != "postgres" || s[0].App != "pt" {
		t.Errorf("session events: %+v", s)
	}
}
