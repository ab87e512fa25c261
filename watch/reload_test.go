package watch_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/watch"
)

// TestReload replaces a watcher's targets while it runs: the unchanged target keeps its held session (the server
// sees the same backend pid), the removed one's session ends, the new one starts.
func TestReload(t *testing.T) {
	pgtest.Isolate(t)
	c := appCluster(t, pgtest.Options{})
	mk := func(name string) watch.Target {
		tg := target(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "application_name="+name))
		tg.Name = name
		return tg
	}
	db, err := pgx.Connect(context.Background(), c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "application_name=observer"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	// heldPid is the pid of the oldest backend of the application: the held session (logins come and go).
	heldPid := func(app string) int {
		var pid int
		err := db.QueryRow(context.Background(), "SELECT coalesce((SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY backend_start LIMIT 1), 0)", app).Scan(&pid)
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	w, rec := run(t, []watch.Target{mk("keep"), mk("drop")}, fast())
	for _, name := range []string{"keep", "drop"} {
		rec.waitFor(t, 0, "server facts of "+name, func(ev eventlog.Event) bool { return ev.Type == eventlog.EventServer && ev.Target == name })
	}
	before := heldPid("keep")
	if before == 0 || heldPid("drop") == 0 {
		t.Fatalf("no held sessions: keep %d, drop %d", before, heldPid("drop"))
	}
	if err := w.Reload([]watch.Target{mk("keep"), mk("add")}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 0, "server facts of add", func(ev eventlog.Event) bool { return ev.Type == eventlog.EventServer && ev.Target == "add" })
	for deadline := time.Now().Add(60 * time.Second); heldPid("drop") != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the removed target's session is still open")
		}
	}
	if after := heldPid("keep"); after != before {
		t.Errorf("the unchanged target's held session changed: pid %d, then %d", before, after)
	}
	if got := w.Targets(); len(got) != 2 || got[0] != "keep" || got[1] != "add" {
		t.Errorf("targets after the reload: %v", got)
	}
	if err := w.Reload(nil); err == nil {
		t.Errorf("a reload to no targets was accepted")
	}
}
