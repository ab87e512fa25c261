package watch_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/settings"
	"github.com/pgtriage/pgtriage/watch"
)

const appPassword = "w4tch-s3cret"

// recorder is a sink that tests wait on.
type recorder struct {
	mu     sync.Mutex
	events []eventlog.Event
	cond   chan struct{} // closed and replaced on every event
}

func newRecorder() *recorder { return &recorder{cond: make(chan struct{})} }

func (r *recorder) Record(ev eventlog.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.cond)
	r.cond = make(chan struct{})
	return nil
}

// waitFor returns the first event from index `from` on that matches, waiting up to a generous deadline (the
// machine is shared and loaded).
func (r *recorder) waitFor(t *testing.T, from int, what string, match func(eventlog.Event) bool) (eventlog.Event, int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		for i := from; i < len(r.events); i++ {
			if match(r.events[i]) {
				ev := r.events[i]
				r.mu.Unlock()
				return ev, i + 1
			}
		}
		cond := r.cond
		r.mu.Unlock()
		select {
		case <-cond:
		case <-deadline:
			t.Fatalf("no %s event within 60s; events:\n%s", what, r.dump())
		}
	}
}

func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, ev := range r.events {
		if ev.Type == eventlog.EventLatency {
			continue
		}
		fmt.Fprintf(&b, "  %s %s %s %s %s %s\n", ev.Time.Format("15:04:05.000"), ev.Type, ev.Target, ev.Probe, ev.Code, ev.Evidence)
	}
	return b.String()
}

func (r *recorder) all() []eventlog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func ofType(typ eventlog.EventType) func(eventlog.Event) bool {
	return func(ev eventlog.Event) bool { return ev.Type == typ }
}

// fast are options that make a test take seconds, not minutes.
func fast() watch.Options {
	return watch.Options{Interval: 200 * time.Millisecond, LoginEvery: 2, RetryInterval: 50 * time.Millisecond}
}

// run starts a Watcher and stops it when the test ends.
func run(t *testing.T, targets []watch.Target, opts watch.Options) (*watch.Watcher, *recorder) {
	t.Helper()
	w, stop, rec := startWatcher(t, targets, opts)
	t.Cleanup(stop)
	return w, rec
}

// start starts a Watcher and returns the function that stops it.
func start(t *testing.T, targets []watch.Target, opts watch.Options) (stop func(), rec *recorder) {
	t.Helper()
	_, stop, rec = startWatcher(t, targets, opts)
	t.Cleanup(stop)
	return stop, rec
}

func startWatcher(t *testing.T, targets []watch.Target, opts watch.Options) (*watch.Watcher, func(), *recorder) {
	t.Helper()
	rec := newRecorder()
	opts.Sinks = append(opts.Sinks, rec)
	w, stopRun := runWatcher(t, targets, opts)
	stop := func() {
		if err := stopRun(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	return w, stop, rec
}

// runWatcher runs a Watcher and returns it with the function that stops it and gives Run's error.
func runWatcher(t *testing.T, targets []watch.Target, opts watch.Options) (*watch.Watcher, func() error) {
	t.Helper()
	w, err := watch.New(targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return within 30s of its context's end")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return w, stop
}

func target(t *testing.T, conn string) watch.Target {
	t.Helper()
	s, err := settings.Load(conn)
	if err != nil {
		t.Fatal(err)
	}
	return watch.Target{Settings: s}
}

func appCluster(t *testing.T, opts pgtest.Options) *pgtest.Cluster {
	opts.Roles = append(opts.Roles, pgtest.Role{Name: "app", Password: appPassword})
	return pgtest.Start(t, opts)
}

func codes(o *eventlog.Outage) []catalog.Code {
	var c []catalog.Code
	for _, cc := range o.Codes {
		c = append(c, cc.Code)
	}
	return c
}

// TestStopRestart stops a real server fast and immediately, and restarts it, while watch runs: the held session sees
// each stop at once (server.terminated), reconnections see tcp.refused until the server is back, each outage ends
// at the first success with its verdict, the second within the window escalates, and restarts are events.
func TestStopRestart(t *testing.T) {
	pgtest.Isolate(t)
	c := appCluster(t, pgtest.Options{})
	tg := target(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "connect_timeout=5"))
	m := watch.NewMetrics()
	opts := fast()
	opts.Metrics = m
	_, rec := run(t, []watch.Target{tg}, opts)
	name := tg.Settings.Target()

	first, i := rec.waitFor(t, 0, "server", ofType(eventlog.EventServer))
	if first.Target != name || first.Server.Role != watch.RolePrimary || first.Server.StartTime == "" {
		t.Errorf("server event: %+v", first)
	}

	// A fast stop: 57P01 FATAL on the held session.
	stopped := time.Now()
	c.Stop(t, "fast")
	ev, i := rec.waitFor(t, i, "outage_start", ofType(eventlog.EventOutageStart))
	if ev.Probe != eventlog.ProbeSession || ev.Code != catalog.ServerTerminated || !strings.Contains(ev.Evidence, "57P01") {
		t.Errorf("fast stop: outage_start %s %s %q, want session server.terminated with 57P01", ev.Probe, ev.Code, ev.Evidence)
	}
	if ev.Time.Before(stopped) {
		t.Errorf("outage started at %v, before the stop at %v", ev.Time, stopped)
	}
	_, i = rec.waitFor(t, i, "tcp.refused", func(ev eventlog.Event) bool {
		return ev.Type == eventlog.EventOutageCause && ev.Code == catalog.TCPRefused
	})
	c.Resume(t)
	end, i := rec.waitFor(t, i, "outage_end", ofType(eventlog.EventOutageEnd))
	o := end.Outage
	if o.Verdict != eventlog.VerdictTransient || o.Recent != 1 || !slices.Contains(codes(o), catalog.ServerTerminated) ||
		!slices.Contains(codes(o), catalog.TCPRefused) || o.Cause != catalog.TCPRefused || len(o.Steps) == 0 {
		t.Errorf("first outage: %+v", o)
	}
	if o.End.Sub(o.Start) <= 0 || o.DurationSeconds <= 0 {
		t.Errorf("outage has no duration: %+v", o)
	}
	restart, i := rec.waitFor(t, i, "server_restart", ofType(eventlog.EventRestart))
	if restart.Old == "" || restart.New == "" || restart.Old == restart.New {
		t.Errorf("restart event: %+v", restart)
	}

	// An immediate stop: the server warns with 57P01 and closes the socket. The second outage within the window
	// escalates as soon as it starts.
	c.Stop(t, "immediate")
	ev, i = rec.waitFor(t, i, "outage_start", ofType(eventlog.EventOutageStart))
	if ev.Code != catalog.ServerTerminated || !strings.Contains(ev.Evidence, "immediate shutdown") {
		t.Errorf("immediate stop: outage_start %s %q, want server.terminated from the warning", ev.Code, ev.Evidence)
	}
	esc, i := rec.waitFor(t, i, "outage_escalate", ofType(eventlog.EventOutageEscalate))
	if !strings.Contains(esc.Note, "2 outages within 24h0m0s, more than 1") {
		t.Errorf("escalation: %q", esc.Note)
	}
	c.Resume(t)
	end, i = rec.waitFor(t, i, "outage_end", ofType(eventlog.EventOutageEnd))
	if o := end.Outage; o.Verdict != eventlog.VerdictEscalate || o.Recent != 2 || len(o.Reasons) != 1 {
		t.Errorf("second outage: %+v", o)
	}
	_, i = rec.waitFor(t, i, "server_restart", ofType(eventlog.EventRestart))

	// pg_ctl restart: one more outage and one more restart.
	c.Restart(t, "fast")
	_, i = rec.waitFor(t, i, "outage_end", ofType(eventlog.EventOutageEnd))
	rec.waitFor(t, i, "server_restart", ofType(eventlog.EventRestart))

	t.Logf("events:\n%s", rec.dump())
	// The held session probes again an interval after it reconnected.
	var got scraped
	for deadline := time.Now().Add(60 * time.Second); ; {
		got = scrape(t, m)
		if v, _ := got.value("pgtriage_probe_duration_seconds", map[string]string{"target": name, "probe": "session"}); v > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no session probe within 60s of the last restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	tl := map[string]string{"target": name}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pgtriage_up", tl, 1},
		{"pgtriage_server_restarts_total", tl, 3},
		{"pgtriage_server_in_recovery", tl, 0},
	} {
		if v, ok := got.value(c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present: %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, ok := got.value("pgtriage_outages_total", map[string]string{"target": name, "cause": "tcp.refused"}); !ok || v < 2 {
		t.Errorf("pgtriage_outages_total{cause=tcp.refused} = %v, want at least 2 (the third may end on another cause)", v)
	}
	// Which code an outage ends up named after depends on how many retries each code got: count over causes.
	if escalated := got.sum("pgtriage_outages_escalated_total", name); escalated != 2 {
		t.Errorf("pgtriage_outages_escalated_total adds up to %v, want 2 (the second and the third outage)", escalated)
	}
	// The two stops were seen by the held session (the events above say so); at the restart a login may come first.
	if v, ok := got.value("pgtriage_probe_failures_total", map[string]string{"target": name, "probe": "session", "cause": "server.terminated"}); !ok || v < 2 {
		t.Errorf("session failures with server.terminated: %v, want 2 or more", v)
	}
	if v, ok := got.value("pgtriage_probe_duration_seconds", map[string]string{"target": name, "probe": "session"}); !ok || v <= 0 || v > 5 {
		t.Errorf("session probe duration %v", v)
	}
	if v, ok := got.value("pgtriage_server_start_time_seconds", tl); !ok || time.Since(time.Unix(int64(v), 0)) > time.Minute {
		t.Errorf("server start time %v", v)
	}
	if _, ok := got.value("pgtriage_tls_cert_expiry_timestamp_seconds", tl); ok {
		t.Errorf("a certificate expiry for a target without TLS")
	}
	var b strings.Builder
	expfmtDump(&b, got)
	if strings.Contains(b.String(), appPassword) || strings.Contains(rec.dump(), appPassword) {
		t.Errorf("the password leaked into metrics or events")
	}
}
