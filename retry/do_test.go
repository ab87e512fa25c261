package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/retry"
)

func selectOne(cs string) func(context.Context) error {
	return func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "select 1")
		return err
	}
}

// A stopped server is retried until it is back: the retries see it refuse, and Do returns nil.
func TestDoRidesOutAStoppedServer(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	c.Stop(t, "fast")
	var ev events
	ev.react = func(e retry.Event) {
		if e.Attempt == 3 {
			c.Resume(t)
		}
	}
	if err := retry.Do(ctx, ev.policy(), selectOne(app(c))); err != nil {
		t.Fatalf("Do: %v (retries saw %v)", err, ev.seen())
	}
	if !ev.has(catalog.TCPRefused) {
		t.Errorf("retries saw %v, want tcp.refused among them", ev.seen())
	}
}

// A smart shutdown refuses new sessions with 57P03 while one is open, then stops; both are ridden out.
func TestDoRidesOutASmartShutdown(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	var ev events
	outage(t, ctx, c, &ev)
	if err := retry.Do(ctx, ev.policy(), selectOne(app(c))); err != nil {
		t.Fatalf("Do: %v (retries saw %v)", err, ev.seen())
	}
	sawOutage(t, &ev)
}

// Errors that never clear are not retried, and come back as they were.
func TestDoDoesNotRetryPersistentErrors(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	for _, cs := range []string{
		c.ConnString("user=app", "password=wrong", "dbname=postgres", "sslmode=disable"),
		app(c, "dbname=nope"),
	} {
		attempts := 0
		err := retry.Do(ctx, nil, func(ctx context.Context) error { attempts++; return selectOne(cs)(ctx) })
		var pgErr *pgconn.PgError
		if attempts != 1 || !errors.As(err, &pgErr) || isGaveUp(err) {
			t.Errorf("%d attempts, error %v; want 1 attempt and the server's error as it was", attempts, err)
		}
	}
}

// The caps: attempts, elapsed time, and the caller's deadline, which wins over the policy.
func TestDoGivesUp(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	c.Stop(t, "fast")
	down := selectOne(app(c))

	attempts := 0
	err := retry.Do(ctx, &retry.Policy{First: time.Millisecond, MaxAttempts: 3}, func(ctx context.Context) error { attempts++; return down(ctx) })
	var g *retry.GaveUpError
	if !errors.As(err, &g) || g.Attempts != 3 || attempts != 3 || g.Reason != "max attempts" || retry.Classify(err).Cause.Code != catalog.TCPRefused {
		t.Errorf("max attempts 3: %d attempts, %v", attempts, err)
	}

	// A wait beyond MaxElapsed is cut short: one last attempt when the time is up.
	err = retry.Do(ctx, &retry.Policy{First: time.Hour, Max: time.Hour, MaxElapsed: 50 * time.Millisecond}, down)
	if !errors.As(err, &g) || g.Attempts != 2 || g.Reason != "max elapsed" || g.Elapsed < 50*time.Millisecond {
		t.Errorf("a first wait beyond MaxElapsed: %v", err)
	}

	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err = retry.Do(short, retry.Background(), down)
	if !errors.As(err, &g) || g.Attempts != 1 || g.Reason != "context deadline" {
		t.Errorf("a 5 s wait with a 500 ms deadline: %v", err)
	}

	cancelled, cancel2 := context.WithCancel(ctx)
	p := &retry.Policy{First: 30 * time.Second, OnRetry: func(retry.Event) { cancel2() }}
	err = retry.Do(cancelled, p, down)
	if !errors.As(err, &g) || !errors.Is(err, context.Canceled) || retry.Classify(err).Cause.Code != catalog.TCPRefused {
		t.Errorf("cancelled while waiting: %v", err)
	}
}

// A statement that may have run is not run again; one that never reached the server is.
func TestDoAtMostOnce(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	conn := connect(t, ctx, app(c))
	pid := conn.PgConn().PID()
	go func() {
		// Terminate the insert while it runs: the client gets 57P01 after sending it.
		for ctx.Err() == nil {
			killer, err := pgx.Connect(ctx, app(c))
			if err == nil {
				var ok bool
				err = killer.QueryRow(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'`, pid).Scan(&ok)
				killer.Close(ctx)
				if err == nil {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	attempts := 0
	err := retry.DoAtMostOnce(ctx, nil, func(ctx context.Context) error {
		attempts++
		_, err := conn.Exec(ctx, `INSERT INTO items (request) SELECT 'slow' FROM pg_sleep(60)`)
		return err
	})
	if !errors.Is(err, retry.ErrCommitUnknown) || attempts != 1 || retry.Classify(err).Cause.Code != catalog.ServerTerminated {
		t.Errorf("terminated during the insert: %d attempts, %v; want 1 and ErrCommitUnknown wrapping 57P01", attempts, err)
	}

	// Refused connects never sent the insert: retried until the server is back, and the row is there once.
	c.Stop(t, "fast")
	var ev events
	ev.react = func(e retry.Event) {
		if e.Attempt == 2 {
			c.Resume(t)
		}
	}
	err = retry.DoAtMostOnce(ctx, ev.policy(), func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, app(c))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `INSERT INTO items (request) VALUES ('once')`)
		return err
	})
	if err != nil || count(t, ctx, c, "once") != 1 {
		t.Errorf("after refused connects: %v, %d rows", err, count(t, ctx, c, "once"))
	}
}

// TestInteractiveKeepsItsBudget: Interactive's policy, run forty times faster (a 0.5 s budget), rides out an outage
// that ends just before the budget, whatever its jitter draws: the time is the budget, not a count of attempts that
// short waits use up early (10 attempts with full jitter ran out after a quarter of the time on average).
func TestInteractiveKeepsItsBudget(t *testing.T) {
	pgtest.Isolate(t)
	ctx := ctxFor(t)
	c := start(t, pgtest.Options{})
	c.Stop(t, "fast")
	down := selectOne(app(c)) // refused, for real
	const speed = 40
	p := retry.Interactive()
	p.First, p.Max, p.MaxElapsed = p.First/speed, p.Max/speed, p.MaxElapsed/speed
	outage := p.MaxElapsed * 9 / 10
	for range 10 {
		start := time.Now()
		err := retry.Do(ctx, p, func(ctx context.Context) error {
			if time.Since(start) < outage {
				return down(ctx)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("an outage of %s with a budget of %s: %v", outage, p.MaxElapsed, err)
		}
	}
}
