package watch_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/watch"
)

// stuckSink stands for a stdout pipe nobody reads: from the first event that matches, each Record blocks until the
// test releases it, or 10 s at most.
type stuckSink struct {
	match   func(eventlog.Event) bool
	release chan struct{}
	stuck   chan struct{} // closed when the first Record blocks
	once    sync.Once
	blocked atomic.Bool // inside a blocking Record now

	mu     sync.Mutex
	events []eventlog.Event
}

func newStuckSink(match func(eventlog.Event) bool) *stuckSink {
	return &stuckSink{match: match, release: make(chan struct{}), stuck: make(chan struct{})}
}

func (s *stuckSink) Record(ev eventlog.Event) error {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	if !s.match(ev) {
		return nil
	}
	s.blocked.Store(true)
	defer s.blocked.Store(false)
	s.once.Do(func() { close(s.stuck) })
	select {
	case <-s.release:
	case <-time.After(10 * time.Second):
	}
	return nil
}

func (s *stuckSink) all() []eventlog.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]eventlog.Event(nil), s.events...)
}

// of lists the types of a target's events, in order.
func of(evs []eventlog.Event, target string) []string {
	var out []string
	for _, ev := range evs {
		if ev.Target == target {
			out = append(out, fmt.Sprint(ev.Type, "@", ev.Time.UnixNano()))
		}
	}
	return out
}

// TestBlockedSink blocks one sink on an event of one target, as a stdout pipe nobody reads would, and stops the
// server of another target meanwhile: that outage reaches the other sink and the metrics while the blocked sink is
// still blocked, and once it is released it receives every event, each target's in order.
func TestBlockedSink(t *testing.T) {
	pgtest.Isolate(t)
	steady := appCluster(t, pgtest.Options{})
	failing := appCluster(t, pgtest.Options{})
	a := target(t, steady.ConnString("user=app", "password="+appPassword, "dbname=postgres", "connect_timeout=5"))
	b := target(t, failing.ConnString("user=app", "password="+appPassword, "dbname=postgres", "connect_timeout=5"))
	a.Name, b.Name = "steady", "failing"

	stuck := newStuckSink(func(ev eventlog.Event) bool { return ev.Target == "steady" && ev.Type == eventlog.EventServer })
	rec := newRecorder()
	m := watch.NewMetrics()
	opts := fast()
	opts.Metrics, opts.Sinks = m, []watch.Sink{stuck, rec}
	_, stop := runWatcher(t, []watch.Target{a, b}, opts)

	_, i := rec.waitFor(t, 0, "server of failing", func(ev eventlog.Event) bool {
		return ev.Target == "failing" && ev.Type == eventlog.EventServer
	})
	select {
	case <-stuck.stuck:
	case <-time.After(60 * time.Second):
		t.Fatalf("the sink never received steady's server event; events:\n%s", rec.dump())
	}
	failing.Stop(t, "immediate")
	_, i = rec.waitFor(t, i, "outage_start of failing", func(ev eventlog.Event) bool {
		return ev.Target == "failing" && ev.Type == eventlog.EventOutageStart
	})
	if up, ok := scrape(t, m).value("pgtriage_up", map[string]string{"target": "failing"}); !ok || up != 0 {
		t.Errorf("pgtriage_up{target=failing} = %v (%v) during its outage", up, ok)
	}
	if !stuck.blocked.Load() {
		t.Fatal("the blocked sink returned (10 s passed) before the outage of the other target was seen: it was not seen on time")
	}
	close(stuck.release)
	failing.Resume(t)
	rec.waitFor(t, i, "outage_end of failing", func(ev eventlog.Event) bool {
		return ev.Target == "failing" && ev.Type == eventlog.EventOutageEnd
	})
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	got, want := stuck.all(), rec.all()
	for _, name := range []string{"steady", "failing"} {
		if g, w := strings.Join(of(got, name), " "), strings.Join(of(want, name), " "); g != w {
			t.Errorf("the blocked sink's events of %s differ from the other sink's:\n got %s\nwant %s", name, g, w)
		}
	}
	if len(got) != len(want) || got[len(got)-1].Type != eventlog.EventWatchStop {
		t.Errorf("the blocked sink has %d events, the other %d; last %s", len(got), len(want), got[len(got)-1].Type)
	}
}

// refusedPort is a loopback port nothing listens on: connecting is refused at once.
func refusedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestSinkOverflow: a sink blocked longer than its queue lasts loses events instead of stalling probing; the drops
// are counted in the metrics, told to the sink in an events_dropped event once it catches up, and returned by Run.
func TestSinkOverflow(t *testing.T) {
	pgtest.Isolate(t)
	var targets []watch.Target
	for _, name := range []string{"a", "b"} {
		tg := target(t, fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=postgres connect_timeout=5 sslmode=disable", refusedPort(t)))
		tg.Name = name
		targets = append(targets, tg)
	}
	stuck := newStuckSink(func(ev eventlog.Event) bool { return ev.Type == eventlog.EventWatchStart })
	rec := newRecorder()
	m := watch.NewMetrics()
	opts := fast()
	opts.Metrics, opts.Sinks, opts.SinkQueue = m, []watch.Sink{stuck, rec}, 2
	_, stop := runWatcher(t, targets, opts)

	// Four events after the start, in a queue of two, while the start is stuck in the sink.
	i := 0
	for _, name := range []string{"a", "b"} {
		rec.waitFor(t, i, "outage_diagnosis of "+name, func(ev eventlog.Event) bool {
			return ev.Target == name && ev.Type == eventlog.EventOutageDiagnose
		})
	}
	if !stuck.blocked.Load() {
		t.Fatal("the sink returned (10 s passed) before the other sink saw both diagnoses")
	}
	dropped, _ := scrape(t, m).value("pgtriage_watch_events_dropped_total", map[string]string{})
	if dropped < 2 {
		t.Errorf("pgtriage_watch_events_dropped_total = %v, want at least 2", dropped)
	}
	close(stuck.release)
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "events dropped") {
		t.Errorf("Run: %v, want an error about dropped events", err)
	}
	var told int
	for _, ev := range stuck.all() {
		if ev.Type == eventlog.EventDropped {
			told += ev.Dropped
		}
	}
	final, _ := scrape(t, m).value("pgtriage_watch_events_dropped_total", map[string]string{})
	if told == 0 || float64(told) != final {
		t.Errorf("the sink was told of %d dropped events, the metric says %v", told, final)
	}
}

// TestSinkWriteError: a sink that cannot write (the event log on a full disk) is told of at once, while watching
// goes on, once for a series of failures, and every failed write is counted in the metrics.
func TestSinkWriteError(t *testing.T) {
	pgtest.Isolate(t)
	tg := target(t, fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=postgres connect_timeout=5 sslmode=disable", refusedPort(t)))
	full := errors.New("no space left on device")
	failing := watch.SinkFunc(func(eventlog.Event) error { return full })
	told := make(chan error, 100)
	rec := newRecorder()
	m := watch.NewMetrics()
	opts := fast()
	opts.Metrics, opts.Sinks = m, []watch.Sink{failing, rec}
	opts.SinkError = func(s watch.Sink, err error) { told <- err }
	_, stop := runWatcher(t, []watch.Target{tg}, opts)

	rec.waitFor(t, 0, "outage_diagnosis", func(ev eventlog.Event) bool { return ev.Type == eventlog.EventOutageDiagnose })
	select {
	case err := <-told:
		if !errors.Is(err, full) {
			t.Errorf("told of %v", err)
		}
	default:
		t.Fatal("the failed write was not told while watching")
	}
	// watch_start, outage_start and outage_diagnosis failed at least; the recorder saw the last before the failing sink
	// perhaps did, so wait for the count.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, _ := scrape(t, m).value("pgtriage_watch_sink_write_errors_total", map[string]string{})
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtriage_watch_sink_write_errors_total = %v, want at least 3", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(told) != 0 {
		t.Errorf("told %d more times of the same series of failures", len(told))
	}
	if err := stop(); !errors.Is(err, full) {
		t.Errorf("Run: %v", err)
	}
}
