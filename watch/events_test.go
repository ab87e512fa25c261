package watch_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/watch"
)

// TestConnectionLimit fills a real server to max_connections while watch runs: the held session carries on, the
// fresh logins fail with limits.too_many_connections, and the outage ends when a slot frees.
func TestConnectionLimit(t *testing.T) {
	pgtest.Isolate(t)
	c := appCluster(t, pgtest.Options{MaxConnections: 6})
	tg := target(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "connect_timeout=5"))
	_, rec := run(t, []watch.Target{tg}, fast())
	_, i := rec.waitFor(t, 0, "server", ofType(eventlog.EventServer))

	// Superusers over the socket take every slot left, the reserved ones included.
	var held []*pgconn.PgConn
	defer func() {
		for _, h := range held {
			h.Close(context.Background())
		}
	}()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := pgconn.Connect(ctx, c.SuperuserConnString())
		cancel()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53300" {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
		if len(held) > 10 {
			t.Fatal("max_connections=6 admitted more than 10 sessions")
		}
	}
	// A login that runs while the superusers are still filling the slots meets the reserved ones first: both are
	// the server's true answer at that moment.
	ev, i := rec.waitFor(t, i, "outage_start", ofType(eventlog.EventOutageStart))
	if ev.Probe != eventlog.ProbeLogin || (ev.Code != catalog.LimitsTooManyConnections && ev.Code != catalog.LimitsReservedSlots) {
		t.Errorf("outage_start %s %s %q, want a login failing with limits.too_many_connections or limits.reserved_slots", ev.Probe, ev.Code, ev.Evidence)
	}
	for _, h := range held {
		h.Close(context.Background())
	}
	held = nil
	end, _ := rec.waitFor(t, i, "outage_end", ofType(eventlog.EventOutageEnd))
	if o := end.Outage; o.Category != "limits" || len(o.Steps) == 0 {
		t.Errorf("outage: %+v", o)
	}
	for _, ev := range rec.all() {
		if ev.Probe == eventlog.ProbeSession && ev.Type == eventlog.EventOutageCause {
			t.Errorf("the held session failed while the server was full: %+v", ev)
		}
	}
}

// TestPromote watches a real standby and promotes it: the held session sees the change of role at once (PostgreSQL
// reports in_hot_standby to open sessions), without an outage.
func TestPromote(t *testing.T) {
	pgtest.Isolate(t)
	primary := appCluster(t, pgtest.Options{})
	standby := pgtest.Start(t, pgtest.Options{StandbyOf: primary})
	tg := target(t, standby.ConnString("user=app", "password="+appPassword, "dbname=postgres", "connect_timeout=5"))
	_, rec := run(t, []watch.Target{tg}, fast())
	ev, i := rec.waitFor(t, 0, "server", ofType(eventlog.EventServer))
	if ev.Server.Role != watch.RoleStandby {
		t.Fatalf("server event: %+v, want a standby", ev.Server)
	}
	standby.Exec(t, "SELECT pg_promote()")
	ev, _ = rec.waitFor(t, i, "role", ofType(eventlog.EventRole))
	if ev.Old != watch.RoleStandby || ev.New != watch.RolePrimary {
		t.Errorf("role event %q -> %q", ev.Old, ev.New)
	}
	for _, ev := range rec.all() {
		if ev.Type == eventlog.EventOutageStart {
			t.Errorf("promotion made an outage: %+v", ev)
		}
	}
}

// TestAddressChange moves a name to another address in a DNS server the test controls, as a failover behind DNS
// does: an addresses event, and the held session follows the name (to an address where nothing listens, so an
// outage of tcp.refused follows too).
func TestAddressChange(t *testing.T) {
	pgtest.Isolate(t)
	c := appCluster(t, pgtest.Options{})
	dns := pgtest.StartDNS(t, map[string][]netip.Addr{"db.pgtriage.test": {netip.MustParseAddr("127.0.0.1")}})
	tg := target(t, c.ConnString("host=db.pgtriage.test", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable", "connect_timeout=5"))
	opts := fast()
	opts.Resolver = dns.Resolver()
	_, rec := run(t, []watch.Target{tg}, opts)
	ev, i := rec.waitFor(t, 0, "server", ofType(eventlog.EventServer))
	if ev.Server.Addresses != "db.pgtriage.test: 127.0.0.1" {
		t.Errorf("addresses %q", ev.Server.Addresses)
	}
	dns.Set("db.pgtriage.test", netip.MustParseAddr("127.0.0.9"))
	ev, i = rec.waitFor(t, i, "addresses", ofType(eventlog.EventAddresses))
	if ev.Old != "db.pgtriage.test: 127.0.0.1" || ev.New != "db.pgtriage.test: 127.0.0.9" {
		t.Errorf("addresses event %q -> %q", ev.Old, ev.New)
	}
	ev, _ = rec.waitFor(t, i, "outage_start", ofType(eventlog.EventOutageStart))
	if ev.Code != catalog.TCPRefused || !strings.Contains(ev.Evidence, "127.0.0.9") {
		t.Errorf("after the move: %s %q, want tcp.refused at 127.0.0.9", ev.Code, ev.Evidence)
	}
}

// TestCertificates serves a certificate that expires in three days, then replaces it (pg_reload_conf): an expiry
// warning, the expiry metric, and a certificate change seen by the next fresh login.
func TestCertificates(t *testing.T) {
	pgtest.Isolate(t)
	notAfter := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	c := appCluster(t, pgtest.Options{ServerCert: func(ca *pgtest.CA) (string, string) {
		return ca.Issue(t, []string{"localhost"}, time.Time{}, notAfter)
	}})
	tg := target(t, c.ConnString("host=localhost", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile, "connect_timeout=5"))
	m := watch.NewMetrics()
	opts := fast()
	opts.Metrics = m
	_, rec := run(t, []watch.Target{tg}, opts)
	ev, i := rec.waitFor(t, 0, "cert_expiring", ofType(eventlog.EventCertExpiring))
	if ev.Cert == nil || !ev.Cert.NotAfter.Equal(notAfter) || !strings.Contains(ev.Note, "expires in 72h") && !strings.Contains(ev.Note, "expires in 71h") {
		t.Errorf("cert_expiring: %+v %q", ev.Cert, ev.Note)
	}
	if v, ok := scrape(t, m).value("pgtriage_tls_cert_expiry_timestamp_seconds", map[string]string{"target": tg.Settings.Target()}); !ok || v != float64(notAfter.Unix()) {
		t.Errorf("pgtriage_tls_cert_expiry_timestamp_seconds = %v, want %d", v, notAfter.Unix())
	}

	cert, key := c.CA.Issue(t, []string{"localhost"}, time.Time{}, time.Time{})
	for _, f := range [][2]string{{cert, "server.crt"}, {key, "server.key"}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.Dir, f[1]), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.Exec(t, "SELECT pg_reload_conf()")
	ev, _ = rec.waitFor(t, i, "cert_changed", ofType(eventlog.EventCert))
	if ev.Old == ev.New || ev.Cert == nil || ev.Cert.NotAfter.Before(time.Now().Add(300*24*time.Hour)) {
		t.Errorf("cert_changed: %q -> %q %+v", ev.Old, ev.New, ev.Cert)
	}
}

// TestLogContinues stops watch during an outage, tears the log's last line as a crash during a write would, and
// starts again on the same log: the torn line is cut off, the open outage goes on with its first start (the time
// watch was not running counted as unobserved), and the log reads back whole.
func TestLogContinues(t *testing.T) {
	pgtest.Isolate(t)
	c := appCluster(t, pgtest.Options{})
	tg := target(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "connect_timeout=5"))
	name := tg.Settings.Target()
	path := filepath.Join(t.TempDir(), "events.jsonl")

	log, hist, err := watch.OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if hist.Events != 0 || len(hist.OpenOutages()) != 0 {
		t.Fatalf("a new log has history: %+v", hist)
	}
	opts := fast()
	opts.Sinks = []watch.Sink{log}
	stop, rec := start(t, []watch.Target{tg}, opts)
	_, i := rec.waitFor(t, 0, "server", ofType(eventlog.EventServer))
	c.Stop(t, "fast")
	first, _ := rec.waitFor(t, i, "outage_start", ofType(eventlog.EventOutageStart))
	stop()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := `{"time":"2026-11-24T20:00:00Z","type":"outage_e`
	if _, err := f.WriteString(torn); err != nil {
		t.Fatal(err)
	}
	f.Close()

	log, hist, err = watch.OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() }) // after the watcher stops: cleanups run last first
	if !strings.Contains(hist.Note, "torn") || hist.Skipped != 1 {
		t.Errorf("history note %q, skipped %d", hist.Note, hist.Skipped)
	}
	if got := hist.OpenOutages(); len(got) != 1 || got[0] != name {
		t.Errorf("open outages %v, want %s", got, name)
	}
	opts.Sinks = []watch.Sink{log}
	opts.History = hist
	_, rec = run(t, []watch.Target{tg}, opts)
	ev, i := rec.waitFor(t, 0, "watch_start", ofType(eventlog.EventWatchStart))
	if !ev.Resumed || !strings.Contains(ev.Note, "torn") {
		t.Errorf("watch_start: resumed %v, note %q", ev.Resumed, ev.Note)
	}
	c.Resume(t)
	end, j := rec.waitFor(t, i, "outage_end", ofType(eventlog.EventOutageEnd))
	// The server facts came back from the log: the start time differs from the one the first run saw.
	rec.waitFor(t, j, "server_restart", ofType(eventlog.EventRestart))
	if o := end.Outage; !o.Start.Equal(first.Time) || o.UnobservedSeconds <= 0 || o.Recent != 1 {
		t.Errorf("continued outage: start %v (first %v), unobserved %v, recent %d", o.Start, first.Time, o.UnobservedSeconds, o.Recent)
	}
	// The log is a sink with a writer of its own: it may still be behind the recorder, so wait for the outage's
	// end to reach the file.
	var b []byte
	count := map[eventlog.EventType]int{}
	pgtest.WaitFor(t, "the outage's end in the log", func() bool {
		if err := log.Sync(); err != nil {
			t.Fatal(err)
		}
		var err error
		if b, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		events, skipped, err := eventlog.ReadEvents(strings.NewReader(string(b)))
		if err != nil || skipped != 0 {
			t.Fatalf("read back: %v, %d skipped", err, skipped)
		}
		clear(count)
		for _, ev := range events {
			count[ev.Type]++
		}
		return count[eventlog.EventOutageEnd] > 0
	})
	if strings.Contains(string(b), torn) {
		t.Errorf("the torn line is still in the log")
	}
	if count[eventlog.EventOutageStart] != 1 || count[eventlog.EventOutageEnd] != 1 || count[eventlog.EventWatchStart] != 2 || count[eventlog.EventWatchStop] != 1 {
		t.Errorf("events in the log: %v", count)
	}
}
