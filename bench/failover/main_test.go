package main

import (
	"context"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// The experiment's claims on a small load, against a real durable server restarted for real (and faultproxy's
// failover scenario, run ten times faster): with retry nothing reaches the application and no row is lost or
// doubled; the naive application doubles every row whose COMMIT answer was lost.
func TestExperiment(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		Roles: []pgtest.Role{{Name: "bench", Password: "bench"}},
		Conf:  map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"},
	})
	c.Exec(t, `GRANT ALL ON SCHEMA public TO bench`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := server{conn: c.ConnString("user=bench", "password=bench", "dbname=postgres", "sslmode=disable"), restart: c.Cluster.Restart,
		down: downFunc(c.Cluster), speed: 10}
	if err := s.prepare(ctx); err != nil {
		t.Fatal(err)
	}
	// down-4: a server down for 4 s, well inside Interactive's 20 s budget.
	for _, scenario := range []string{"fast", "immediate", "lost-ack", "proxy-failover", "down-4"} {
		for _, app := range []string{"retry", "sqlretry"} {
			r, err := s.measure(ctx, scenario, app, 4, 100)
			if err != nil {
				t.Fatal(err)
			}
			if r.errors != 0 || r.lost != 0 || r.duplicated != 0 || r.outage <= 0 {
				t.Errorf("%s, %s: %+v; want no error, nothing lost or doubled, an outage measured", scenario, app, r)
			}
		}
	}
	r, err := s.measure(ctx, "lost-ack", "naive", 4, 100)
	if err != nil {
		t.Fatal(err)
	}
	if r.cuts == 0 || r.duplicated != r.cuts {
		t.Errorf("lost-ack, naive: %+v; want as many duplicates as lost answers, and some", r)
	}
}
