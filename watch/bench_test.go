//go:build unix

// The benchmarks measure CPU with getrusage(2), which Windows lacks.

package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/settings"
)

// The goals of the watch issue, measured against real servers. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./watch
//
// Each prints its figures next to the goal.

// events is a sink for benchmarks.
type events struct {
	mu  sync.Mutex
	all []eventlog.Event
	ch  chan eventlog.Event
}

func (e *events) Record(ev eventlog.Event) error {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
	return nil
}

func (e *events) next(b *testing.B, typ eventlog.EventType) eventlog.Event {
	b.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case ev := <-e.ch:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			b.Fatalf("no %s event within 2 minutes", typ)
		}
	}
}

func startBench(b *testing.B, targets []Target, opts Options) (*Watcher, *events, func()) {
	b.Helper()
	ev := &events{ch: make(chan eventlog.Event, 4096)}
	opts.Sinks = append(opts.Sinks, ev)
	w, err := New(targets, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return w, ev, func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

func load(b *testing.B, conn string) *settings.Settings {
	b.Helper()
	s, err := settings.Load(conn)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkOutageTiming stops a real server (fast and immediate, alternately) for two seconds at a time while one
// target is watched with the defaults (1 s interval, 250 ms retry), and compares the events with the timestamps
// taken around pg_ctl: how soon the held session saw the server go, and how far each outage's duration is from the
// true downtime (from the moment pg_ctl stop was run to the moment pg_ctl start returned with the server
// accepting connections).
func BenchmarkOutageTiming(b *testing.B) {
	c := pgtest.Start(b, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "b3nch-pw"}}})
	_, ev, stop := startBench(b, []Target{{Name: "bench", Settings: load(b, c.ConnString("user=app", "password=b3nch-pw", "dbname=postgres"))}}, Options{})
	defer stop()
	ev.next(b, eventlog.EventServer)
	var worstDetect, worstError time.Duration
	rounds := 6 * b.N
	for i := range rounds {
		mode := []string{"fast", "immediate"}[i%2]
		time.Sleep(1500 * time.Millisecond) // let the held session settle between two rounds
		t0 := time.Now()
		c.Stop(b, mode)
		t1 := time.Now()
		start := ev.next(b, eventlog.EventOutageStart)
		time.Sleep(2 * time.Second) // the downtime
		t2 := time.Now()
		c.Resume(b)
		t3 := time.Now()
		end := ev.next(b, eventlog.EventOutageEnd)
		detect := start.Time.Sub(t0)
		truth := t3.Sub(t0)
		measured := end.Outage.End.Sub(end.Outage.Start)
		diff := measured - truth
		fmt.Printf("  %-9s detected %6.1f ms after pg_ctl stop was run (stop took %5.1f ms) by %s as %s; outage %7.3f s, true downtime %7.3f s (start took %5.1f ms): off by %+6.0f ms\n",
			mode, ms(detect), ms(t1.Sub(t0)), start.Probe, start.Code, measured.Seconds(), truth.Seconds(), ms(t3.Sub(t2)), ms(diff))
		worstDetect = max(worstDetect, detect)
		worstError = max(worstError, diff.Abs())
	}
	fmt.Printf("  worst of %d: detection %.1f ms (goal: under 250 ms); outage duration off by %.0f ms (goal: within 500 ms)\n", rounds, ms(worstDetect), ms(worstError))
	b.ReportMetric(ms(worstDetect), "worst-detect-ms")
	b.ReportMetric(ms(worstError), "worst-duration-error-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpu is the CPU time this process has used, user and system.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is this process's resident memory, from /proc/self/status.
func rss() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkThousandTargets watches 1,000 targets at a 1 s interval, each a held session on one real server
// (max_connections 1100) and a fresh login every 10 intervals, and measures this process's CPU (getrusage) and
// memory (RSS) once every session is open, with the runtime on one processor and on two, 3 × 10 s each,
// alternately. The server's processes are not this process and are not
// counted. The server trusts the benchmark's logins: a SCRAM login costs the client far more CPU than everything
// else together, and BenchmarkLoginCost prints what it would add.
func BenchmarkThousandTargets(b *testing.B) {
	const n = 1000
	c := pgtest.Start(b, pgtest.Options{MaxConnections: n + 100, HBA: []string{"local all all trust", "host all all 127.0.0.1/32 trust"},
		Conf: map[string]string{"shared_buffers": "64MB", "log_connections": "off"}})
	targets := make([]Target, n)
	for i := range targets {
		name := fmt.Sprintf("t%04d", i)
		targets[i] = Target{Name: name, Settings: load(b, c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable", "application_name="+name))}
	}
	runtime.GC()
	before := rss()
	w, _, stop := startBench(b, targets, Options{Interval: time.Second, LoginEvery: 10})
	defer stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		up := 0
		for _, s := range w.Status() {
			if s.State == StateUp && s.Latency > 0 {
				up++
			}
		}
		if up == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d targets up after 2 minutes", up, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // past the first fresh logins of every target
	// The CPU with the runtime on one processor (what pgtriage watch runs with) and on two, measured alternately.
	const window = 10 * time.Second
	var used [3]time.Duration
	var wall [3]time.Duration
	peak := int64(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for range 3 {
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			time.Sleep(time.Second)
			c0, t0 := cpu(), time.Now()
			for time.Since(t0) < window {
				time.Sleep(time.Second)
				peak = max(peak, rss())
			}
			used[procs] += cpu() - c0
			wall[procs] += time.Since(t0)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	down := 0
	for _, s := range w.Status() {
		if s.State != StateUp {
			down++
		}
	}
	fmt.Printf("  %d targets, 1 s interval, fresh login every 10 s (trust auth):\n", n)
	for _, procs := range []int{1, 2} {
		fmt.Printf("    GOMAXPROCS=%d: CPU %.2f s in %.0f s = %.1f%% of one core (goal: under 10%%)\n", procs,
			used[procs].Seconds(), wall[procs].Seconds(), 100*used[procs].Seconds()/wall[procs].Seconds())
	}
	fmt.Printf("  memory: RSS %.0f MB at peak (%.0f MB before watch started; goal: under 150 MB); Go heap in use %.0f MB, goroutines %d; %d targets not up\n",
		float64(peak)/(1<<20), float64(before)/(1<<20), float64(ms.HeapInuse)/(1<<20), runtime.NumGoroutine(), down)
	b.ReportMetric(100*used[1].Seconds()/wall[1].Seconds(), "cpu-%-1proc")
	b.ReportMetric(100*used[2].Seconds()/wall[2].Seconds(), "cpu-%-2procs")
	b.ReportMetric(float64(peak)/(1<<20), "rss-MB")
}

// BenchmarkLoginCost measures the client CPU of one fresh login with trust and with SCRAM-SHA-256 (4096 PBKDF2
// iterations on the client), alternately, and what a login every 10 intervals of 1 s would cost 1,000 targets.
func BenchmarkLoginCost(b *testing.B) {
	c := pgtest.Start(b, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "b3nch-pw"}},
		HBA:  []string{"local all all trust", "host all postgres 127.0.0.1/32 trust", "host all app 127.0.0.1/32 scram-sha-256"},
		Conf: map[string]string{"log_connections": "off"}})
	kinds := []struct {
		name string
		conn string
		cpu  time.Duration
		n    int
	}{
		{name: "trust", conn: c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable")},
		{name: "scram-sha-256", conn: c.ConnString("user=app", "password=b3nch-pw", "dbname=postgres", "sslmode=disable")},
	}
	for range 10 * b.N {
		for i := range kinds {
			k := &kinds[i]
			for range 20 {
				c0 := cpu()
				conn, err := pgconn.Connect(context.Background(), k.conn)
				if err != nil {
					b.Fatal(err)
				}
				conn.Close(context.Background())
				k.cpu += cpu() - c0
				k.n++
			}
		}
	}
	for _, k := range kinds {
		per := k.cpu / time.Duration(k.n)
		fmt.Printf("  %-14s client CPU %.2f ms a login (n=%d); 1,000 targets logging in every 10 s: %.1f%% of one core\n",
			k.name, ms(per), k.n, 100*per.Seconds()*100)
	}
}

// BenchmarkEmptyQuery is the held session's probe, ";" on an open session, against SELECT 1 read the ordinary way:
// round trip and allocations of each, measured alternately on one real session.
func BenchmarkEmptyQuery(b *testing.B) {
	c := pgtest.Start(b, pgtest.Options{Conf: map[string]string{"log_connections": "off"}})
	conn, err := pgconn.Connect(context.Background(), c.SuperuserConnString())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	probes := []struct {
		name string
		run  func() error
		took time.Duration
		n    int
	}{
		{name: `";" (watch's probe)`, run: func() error { return emptyQuery(conn) }},
		{name: "wait + \";\"", run: func() error {
			// The whole cycle of hold: a pending read woken by its deadline, then the probe.
			_ = conn.Conn().SetReadDeadline(time.Now())
			if err := conn.WaitForNotification(context.Background()); !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("the wait ended with %v", err)
			}
			_ = conn.Conn().SetDeadline(time.Now().Add(5 * time.Second))
			return emptyQuery(conn)
		}},
		{name: "SELECT 1, ReadAll", run: func() error { _, err := conn.Exec(context.Background(), "SELECT 1").ReadAll(); return err }},
	}
	for range 20 * b.N {
		for i := range probes {
			p := &probes[i]
			t0 := time.Now()
			for range 500 {
				if err := p.run(); err != nil {
					b.Fatal(err)
				}
			}
			p.took += time.Since(t0)
			p.n += 500
		}
	}
	for _, p := range probes {
		allocs := testing.AllocsPerRun(1000, func() {
			if err := p.run(); err != nil {
				b.Fatal(err)
			}
		})
		fmt.Printf("  %-20s %6.1f µs a round trip, %g allocations (n=%d)\n", p.name, float64(p.took)/float64(p.n)/1e3, allocs, p.n)
	}
}
