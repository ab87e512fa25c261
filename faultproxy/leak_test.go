//go:build linux

package faultproxy_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// noLeaks fails the test unless goroutines and file descriptors come back to
// what they were (within a minute: goroutines take a moment to end).
func noLeaks(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines %d (before %d), fds %d (before %d)\n%s", g, goroutines, f, fds, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// raiseNoFile lifts the soft limit on open files to the hard one.
func raiseNoFile(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(max(need, lim.Cur), lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		t.Fatalf("RLIMIT_NOFILE %d < %d: %v", lim.Cur, need, err)
	}
}

// TestCloseLeavesNothing: Close ends sessions in every state (live, in a
// long query, held by a blackhole, half way through the startup) and leaves
// no goroutine and no file descriptor behind.
func TestCloseLeavesNothing(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	ctx := testCtx(t)
	runtime.GC()
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	p, err := faultproxy.Start(ctx, faultproxy.Config{Upstream: net.JoinHostPort(c.Host, fmt.Sprint(c.Port))})
	if err != nil {
		t.Fatal(err)
	}
	cs := proxyConnString(p, "user=postgres", "sslmode=disable")
	idle, err := pgconn.Connect(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := pgconn.Connect(ctx, proxyConnString(p, "user=app", "password=secret", "sslmode=require"))
	if err != nil {
		t.Fatal(err)
	}
	busyDone := make(chan struct{})
	go func() { busy.Exec(ctx, "select pg_sleep(30)").ReadAll(); close(busyDone) }()
	p.Add(faultproxy.Fault{Kind: faultproxy.KindLatency, Delay: faultproxy.Duration(time.Millisecond)})
	half, err := net.Dial("tcp", p.Addr()) // sends nothing: the proxy waits for its startup
	if err != nil {
		t.Fatal(err)
	}
	p.Add(faultproxy.Fault{Kind: faultproxy.KindBlackhole})
	held, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "four sessions", func() bool { return p.Sessions() == 4 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := p.Sessions(); n != 0 {
		t.Errorf("%d sessions after Close", n)
	}
	<-busyDone
	idle.Close(ctx)
	busy.Close(ctx)
	half.Close()
	held.Close()
	noLeaks(t, goroutines, fds)
}

// rawSession opens a session to addr with a bare StartupMessage (user
// postgres, trusted): a client that costs almost nothing, so that memory
// measured in this process is the proxy's.
func rawSession(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "postgres", "database": "postgres"}})
	if err := fe.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	for {
		m, err := fe.Receive()
		if err != nil {
			nc.Close()
			return nil, err
		}
		switch m := m.(type) {
		case *pgproto3.ReadyForQuery:
			nc.SetDeadline(time.Time{})
			return nc, nil
		case *pgproto3.ErrorResponse:
			nc.Close()
			return nil, fmt.Errorf("%s %s", m.Code, m.Message)
		}
	}
}

// openSessions opens n raw sessions to addr, 32 at a time.
func openSessions(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	ctx := testCtx(t)
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			if conns[i], err = rawSession(ctx, addr); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// inUse is the memory the Go runtime holds for heap objects and stacks.
func inUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// TestThousandSessions: 1,000 idle sessions at once through the proxy, and
// the memory they cost the proxy; then a flood of 1,000 sessions that open
// and close, which leaves no goroutine or file descriptor behind.
func TestThousandSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 server processes")
	}
	const n = 1000
	raiseNoFile(t, 4*n+1000)
	c := startCluster(t, pgtest.Options{MaxConnections: n + 20})
	upstream := net.JoinHostPort(c.Host, fmt.Sprint(c.Port))

	// The same sessions without the proxy first: what they cost the client side.
	base := inUse()
	direct := openSessions(t, upstream, n)
	directCost := int64(inUse()) - int64(base)
	closeAll(direct)
	waitFor(t, "the direct sessions to end", func() bool {
		var count int
		conn := connect(t, c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable"))
		conn.QueryRow(testCtx(t), "select count(*) from pg_stat_activity where backend_type = 'client backend'").Scan(&count)
		conn.Close(context.Background())
		return count <= 1
	})

	p := startProxy(t, c, faultproxy.Config{})
	// The proxy's own goroutine and listener are in the baseline: the flood
	// below must come back to it while the proxy runs.
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	base = inUse()
	proxied := openSessions(t, p.Addr(), n)
	if got := p.Sessions(); got != n {
		t.Errorf("%d sessions, want %d", got, n)
	}
	proxiedCost := int64(inUse()) - int64(base)
	perSession := (proxiedCost - directCost) / n
	t.Logf("memory (heap+stacks in use) of %d idle sessions: through the proxy %.1f MB, direct %.1f MB: the proxy's share %.1f MB (%.1f KB a session)",
		n, float64(proxiedCost)/1e6, float64(directCost)/1e6, float64(proxiedCost-directCost)/1e6, float64(perSession)/1e3)
	closeAll(proxied)
	waitFor(t, "the proxy to see them go", func() bool { return p.Sessions() == 0 })

	// The flood: n sessions that open and close, 32 at a time.
	for range n / 100 {
		closeAll(openSessions(t, p.Addr(), 100))
	}
	waitFor(t, "the flood to end", func() bool { return p.Sessions() == 0 })
	noLeaks(t, goroutines, fds)
}
