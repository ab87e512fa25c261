package faultproxy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// netError fails the test unless err is a network failure (no PgError).
func netError(t *testing.T, err error, what string) {
	t.Helper()
	var pe *pgconn.PgError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("%s: want a network error, got %v", what, err)
	}
}

func TestRefuse(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	live := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindRefuse})
	// For every connection the listener closes: the kernel refuses the handshake, as for a server that is down.
	err := connectErr(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	netError(t, err, "refuse")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("refuse: want connection refused, got %v", err)
	}
	// Sessions already open go on: a refuse is about new connections.
	if _, err := live.Exec(testCtx(t), "select 1"); err != nil {
		t.Errorf("live session during refuse: %v", err)
	}
	p.Remove(f.ID)
	connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))

	// For a share of connections a handshake cannot be refused: those are reset at accept. (A fixed seed decides
	// the share, so the one connection here is surely among the 99.9%.)
	p = startProxy(t, c, faultproxy.Config{Seed: 42})
	g := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindRefuse, Share: 0.999})
	err = connectErr(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	netError(t, err, "refuse share")
	if !errors.Is(err, syscall.ECONNRESET) && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("refuse with a share: want a reset or EOF, got %v", err)
	}
	p.Remove(g.ID)
}

func TestBlackhole(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindBlackhole})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := pgconn.Connect(ctx, proxyConnString(p, "user=postgres", "sslmode=disable"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blackhole: want the client's deadline, got %v", err)
	}
	// A held connection is closed when the fault goes.
	nc, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The proxy does not notice that the first client gave up: it reads nothing.
	waitFor(t, "both held connections", func() bool { return p.Sessions() == 2 })
	p.Remove(f.ID)
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("held connection after the fault went: %v, want EOF", err)
	}
}

func TestReset(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	cs := proxyConnString(p, "user=postgres", "sslmode=disable")

	t.Run("accept", func(t *testing.T) {
		f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindReset, At: faultproxy.AtAccept})
		defer p.Remove(f.ID)
		netError(t, connectErr(t, cs), "reset at accept")
	})
	t.Run("startup", func(t *testing.T) {
		f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindReset, At: faultproxy.AtStartup})
		defer p.Remove(f.ID)
		// The RST follows ReadyForQuery: the connect may see it or the first query does.
		ctx := testCtx(t)
		conn, err := pgx.Connect(ctx, cs)
		if err == nil {
			defer conn.Close(ctx)
			waitFor(t, "the reset", func() bool { return p.Sessions() == 0 })
			_, err = conn.Exec(ctx, "select 1")
		}
		netError(t, err, "reset at startup")
	})
	t.Run("bytes", func(t *testing.T) {
		conn := connect(t, cs)
		// The fault acts on the live session too, counted from now.
		f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindReset, At: faultproxy.AtBytes, Bytes: 50000})
		defer p.Remove(f.ID)
		var n int
		err := conn.QueryRow(testCtx(t), "select count(*) from (select repeat('x', 100) from generate_series(1, 10)) s").Scan(&n)
		if err != nil || n != 10 {
			t.Fatalf("a small query under the budget: %d, %v", n, err)
		}
		rows, err := conn.Query(testCtx(t), "select repeat('x', 1000) from generate_series(1, 1000)")
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
		}
		netError(t, err, "reset after bytes")
	})
}

func TestTerminate(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	cs := proxyConnString(p, "user=postgres", "sslmode=disable")

	t.Run("57P01", func(t *testing.T) {
		// The real thing first: pg_terminate_backend on a direct session.
		victim := connect(t, c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable"))
		admin := connect(t, cs)
		ctx := testCtx(t)
		if _, err := admin.Exec(ctx, "select pg_terminate_backend($1)", victim.PgConn().PID()); err != nil {
			t.Fatal(err)
		}
		_, err := victim.Exec(ctx, "select 1")
		want := pgError(t, err)

		// Then the proxy: an idle session and one in a long query.
		idle := connect(t, cs)
		busy := connect(t, cs)
		errc := make(chan error, 1)
		go func() { _, err := busy.Exec(ctx, "select pg_sleep(30)"); errc <- err }()
		waitFor(t, "the long query", func() bool {
			var n int
			admin.QueryRow(ctx, "select count(*) from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'").Scan(&n)
			return n == 1
		})
		admin.Close(ctx)
		f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindTerminate})
		if f.Cause != catalog.ServerTerminated || len(p.Faults()) != 0 {
			t.Errorf("terminate stored as %+v, faults in force %v", f, p.Faults())
		}
		_, err = idle.Exec(ctx, "select 1")
		for name, err := range map[string]error{"idle": err, "busy": <-errc} {
			got := pgError(t, err)
			if got.Code != want.Code || got.Severity != want.Severity || got.Message != want.Message ||
				got.File != want.File || got.Routine != want.Routine {
				t.Errorf("%s session: got %+v, server sends %+v", name, got, want)
			}
		}
		// New sessions are not affected: terminate is one-shot.
		connect(t, cs)
	})
}

// TestCrashNoticeMatchesServer crashes a real server (SIGKILL to a backend)
// and compares the WARNING every other session gets with the proxy's
// terminate fault with cause 57P02.
func TestCrashNoticeMatchesServer(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	notice := func(cs string, act func(conn *pgx.Conn)) *pgconn.Notice {
		notices := make(chan *pgconn.Notice, 1)
		cfg, err := pgx.ParseConfig(cs)
		if err != nil {
			t.Fatal(err)
		}
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices <- n }
		ctx := testCtx(t)
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		act(conn)
		// The notice comes when the server process gets its signal, and the connection ends after it. Read without
		// writing until then: a query sent to a backend that has died draws a reset, which can discard the notice
		// still unread in the socket (seen under load).
		err = conn.PgConn().WaitForNotification(ctx)
		select {
		case n := <-notices:
			return n
		default:
			t.Fatalf("the connection ended without the notice: %v", err)
			return nil
		}
	}
	injected := notice(proxyConnString(p, "user=postgres", "sslmode=disable"), func(*pgx.Conn) {
		addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindTerminate, Cause: "57P02"})
	})
	real := notice(c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable"), func(*pgx.Conn) {
		other := connect(t, c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable"))
		backend, err := os.FindProcess(int(other.PgConn().PID()))
		if err == nil {
			err = backend.Kill()
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	injected.Line, real.Line = 0, 0
	if fmt.Sprintf("%+v", *injected) != fmt.Sprintf("%+v", *real) {
		t.Errorf("57P02:\nserver %+v\nproxy  %+v", *real, *injected)
	}
}

func TestLatency(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	ctx := testCtx(t)
	const delay = 300 * time.Millisecond
	// Added to a live session: the query crosses the proxy once each way.
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLatency, Delay: faultproxy.Duration(delay)})
	start := time.Now()
	if _, err := conn.Exec(ctx, "select 1"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 2*delay {
		t.Errorf("a round trip took %v with %v latency each way", took, delay)
	}
	p.Clear()
	f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLatency, Delay: faultproxy.Duration(delay), Direction: faultproxy.Downstream})
	start = time.Now()
	if _, err := conn.Exec(ctx, "select 1"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("a round trip took %v with %v latency downstream", took, delay)
	}
	p.Remove(f.ID)
}

func TestReadOnly(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	c.Exec(t, "create table t (i int)")
	p := startProxy(t, c, faultproxy.Config{})
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindReadOnly})
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	ctx := testCtx(t)
	if got := conn.PgConn().ParameterStatus("default_transaction_read_only"); got != "on" {
		t.Errorf("default_transaction_read_only reported as %q", got)
	}
	var n int
	if err := conn.QueryRow(ctx, "select count(*) from t").Scan(&n); err != nil {
		t.Fatalf("select on a read-only primary: %v", err)
	}
	_, err := conn.Exec(ctx, "insert into t values (1)")
	pe := pgError(t, err)
	if pe.Code != "25006" || pe.Message != "cannot execute INSERT in a read-only transaction" {
		t.Errorf("insert: %s %q", pe.Code, pe.Message)
	}
	if cause := catalog.ClassifyError(err); cause.Code != catalog.ServerReadOnlyTx {
		t.Errorf("catalog: %s", cause.Code)
	}
	p.Clear()
	if _, err := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable")).Exec(ctx, "insert into t values (1)"); err != nil {
		t.Errorf("insert once the fault is gone: %v", err)
	}
}

func TestTrickle(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	ctx := testCtx(t)
	const rate = 4000
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindTrickle, Rate: rate, Direction: faultproxy.Downstream})
	start := time.Now()
	var s string
	if err := conn.QueryRow(ctx, "select string_agg(md5(i::text), '') from generate_series(1, 250) i").Scan(&s); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var want string
	direct := connect(t, c.ConnString("user=postgres", "dbname=postgres", "sslmode=disable"))
	if err := direct.QueryRow(ctx, "select string_agg(md5(i::text), '') from generate_series(1, 250) i").Scan(&want); err != nil {
		t.Fatal(err)
	}
	if s != want {
		t.Errorf("trickled bytes differ from the server's (%d vs %d bytes)", len(s), len(want))
	}
	// 8000 bytes of result at 4000 bytes/s: at least about two seconds.
	if min := time.Duration(len(s)) * time.Second / rate * 9 / 10; took < min {
		t.Errorf("%d bytes at %d B/s took %v", len(s), rate, took)
	}
}

func TestShare(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{Seed: 42})
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindError, Cause: catalog.ServerStartingUp, Share: 0.5})
	failed := 0
	const n = 20
	for range n {
		if err := connectErr(t, proxyConnString(p, "user=postgres", "sslmode=disable")); err.Error() != "connected" {
			if pgError(t, err).Code != "57P03" {
				t.Fatalf("unexpected %v", err)
			}
			failed++
		}
	}
	if failed == 0 || failed == n {
		t.Errorf("share 0.5: %d of %d connections failed", failed, n)
	}
	t.Logf("share 0.5, seed 42: %d of %d failed", failed, n)
}

// TestIdleCut: a live session that stays idle longer than the fault's idle time is cut at its next query, with a
// reset or silently, while one that keeps talking is not.
func TestIdleCut(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	cs := proxyConnString(p, "user=postgres", "sslmode=disable")
	const idle = time.Second // busy talks every quarter of it: a loaded machine does not stall a query that long
	for _, mode := range []faultproxy.IdleMode{faultproxy.IdleReset, faultproxy.IdleSilent} {
		t.Run(string(mode), func(t *testing.T) {
			busy, quiet := connect(t, cs), connect(t, cs)
			f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindIdleCut, Idle: faultproxy.Duration(idle), Mode: mode})
			defer p.Remove(f.ID)
			// busy queries every quarter of the idle time, quiet says nothing, for twice the idle time.
			for end := time.Now().Add(2 * idle); time.Now().Before(end); time.Sleep(idle / 4) {
				if _, err := busy.Exec(testCtx(t), "select 1"); err != nil {
					t.Fatalf("a session that keeps talking was cut: %v", err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := quiet.Exec(ctx, "select 1")
			switch {
			case err == nil:
				t.Fatal("the idle session answered")
			case mode == faultproxy.IdleSilent && ctx.Err() == nil:
				t.Errorf("silent cut: got %v before the deadline, want no answer", err)
			case mode == faultproxy.IdleReset && ctx.Err() != nil:
				t.Errorf("reset cut: no reset within 2s (%v)", err)
			}
		})
	}
	if _, err := p.Add(faultproxy.Fault{Kind: faultproxy.KindIdleCut}); err == nil || !strings.Contains(err.Error(), "idle time") {
		t.Errorf("idle_cut without idle: %v", err)
	}
	if _, err := p.Add(faultproxy.Fault{Kind: faultproxy.KindIdleCut, Idle: faultproxy.Duration(time.Second), Mode: "fin"}); err == nil {
		t.Error("idle_cut mode fin accepted")
	}
}
