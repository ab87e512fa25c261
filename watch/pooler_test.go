package watch_test

import (
	"testing"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/watch"
)

// Two targets behind one real PgBouncer: one names a database PgBouncer does not know, so PgBouncer itself refuses
// it (side pooler); the other loses the server behind PgBouncer (side server). Events and metrics say which.
func TestBehindPgBouncer(t *testing.T) {
	pgtest.Isolate(t)
	c := appCluster(t, pgtest.Options{})
	b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: map[string]string{"app": appPassword},
		Settings: map[string]string{"client_login_timeout": "1"}})
	good := target(t, b.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable", "connect_timeout=5"))
	unknown := target(t, b.ConnString("user=app", "password="+appPassword, "dbname=nosuch", "sslmode=disable", "connect_timeout=5"))
	unknown.Name = "unknown-db"
	m := watch.NewMetrics()
	opts := fast()
	opts.Metrics = m
	_, rec := run(t, []watch.Target{good, unknown}, opts)

	ev, _ := rec.waitFor(t, 0, "pooler-side outage", func(ev eventlog.Event) bool {
		return ev.Type == eventlog.EventOutageStart && ev.Target == "unknown-db"
	})
	if ev.Code != catalog.PoolerDBNotFound || ev.Side != "pooler" {
		t.Errorf("unknown database: outage_start %s side %q (%s), want %s on the pooler's side", ev.Code, ev.Side, ev.Evidence, catalog.PoolerDBNotFound)
	}
	_, i := rec.waitFor(t, 0, "server", func(ev eventlog.Event) bool {
		return ev.Type == eventlog.EventServer && ev.Target == good.Settings.Target()
	})

	c.Stop(t, "fast")
	ev, _ = rec.waitFor(t, i, "server-side cause", func(ev eventlog.Event) bool {
		return (ev.Type == eventlog.EventOutageStart || ev.Type == eventlog.EventOutageCause) && ev.Target == good.Settings.Target() &&
			ev.Code == catalog.PoolerServerUnavailable
	})
	if ev.Side != "server" {
		t.Errorf("server down behind PgBouncer: side %q, want server (%s)", ev.Side, ev.Evidence)
	}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sides := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "pgtriage_pooler_failures_total" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == "side" {
					sides[l.GetValue()] += mm.GetCounter().GetValue()
				}
			}
		}
	}
	if sides["pooler"] < 1 || sides["server"] < 1 {
		t.Errorf("pgtriage_pooler_failures_total by side: %v, want both sides counted", sides)
	}
}
