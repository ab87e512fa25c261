package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/faultproxy/scenario"
	"github.com/pgtriage/pgtriage/retry"
)

// server is the server under test and how to restart it.
type server struct {
	conn    string
	restart func(ctx context.Context, mode string) error
	// down stops the server for a while and starts it again; nil when the server is not ours to stop (-conn).
	down func(ctx context.Context, d time.Duration) error
	// speed runs faultproxy's failover scenario faster (see scenario.RunOptions).
	speed float64
	// background makes the retrying applications use retry.Background instead of retry.Interactive.
	background bool
}

type result struct {
	errors, lost, duplicated, unackedCommitted int
	cuts                                       int // COMMIT answers lost on purpose
	outage, maxStall                           time.Duration
	// resumed is how long after the outage's end the slowest client acknowledged a row again: the time the
	// application added to the outage.
	resumed time.Duration
	rate    float64
	note    string
}

func (s *server) prepare(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.conn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// No unique constraint on request: like most tables, nothing stops the same logical row from being written twice.
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS failover_rows (id bigserial PRIMARY KEY, request text NOT NULL, at timestamptz NOT NULL DEFAULT now());
		CREATE INDEX IF NOT EXISTS failover_rows_request ON failover_rows (request); `+retry.KeyTable)
	return err
}

// writer writes one row in its own transaction and returns the error the application would see.
type writer func(ctx context.Context, request string) error

func insert(ctx context.Context, request string) func(pgx.Tx) error {
	return func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO failover_rows (request) VALUES ($1)`, request)
		return err
	}
}

// writers are the applications. plain surfaces every error (and drops that row); naive runs a failed
// transaction again every 100 ms, whatever the error, up to 100 times; retry uses PoolConfig and TxKey; sqlretry is
// database/sql with pgx's stdlib driver, Connector and SQLTxKey.
func newWriter(app string, pool *pgxpool.Pool, db *sql.DB, policy *retry.Policy) (writer, error) {
	switch app {
	case "plain":
		return func(ctx context.Context, request string) error {
			return pgx.BeginFunc(ctx, pool, insert(ctx, request))
		}, nil
	case "naive":
		return func(ctx context.Context, request string) error {
			var err error
			for range 100 {
				if err = pgx.BeginFunc(ctx, pool, insert(ctx, request)); err == nil {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
			}
			return err
		}, nil
	case "retry":
		return func(ctx context.Context, request string) error {
			return retry.TxKey(ctx, pool, retry.TxKeyOptions{Policy: policy, Key: retry.Key{Value: request}}, insert(ctx, request))
		}, nil
	case "sqlretry":
		return func(ctx context.Context, request string) error {
			return retry.SQLTxKey(ctx, db, retry.SQLTxKeyOptions{Policy: policy, Key: retry.Key{Value: request}}, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO failover_rows (request) VALUES ($1)`, request)
				return err
			})
		}, nil
	}
	return nil, fmt.Errorf("unknown app %q (plain, naive, retry, sqlretry)", app)
}

func (s *server) measure(ctx context.Context, name, app string, clients, rows int) (result, error) {
	var r result
	cfg, err := pgxpool.ParseConfig(s.conn)
	if err != nil {
		return r, err
	}
	// The outage is polled directly, unless the clients go through faultproxy, whose faults are the outage.
	poll := cfg.ConnConfig.Config.Copy()
	upstream := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	through := func(hostPort string) error {
		host, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return err
		}
		cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.TLSConfig, cfg.ConnConfig.Fallbacks = host, uint16(n), nil, nil
		return nil
	}
	var disrupt func(context.Context) error
	var lost *atomic.Int64 // answers lost on purpose, in lost-ack
	switch name {
	case "fast", "immediate":
		disrupt = func(ctx context.Context) error { return s.restart(ctx, name) }
	case "lost-ack":
		lost = new(atomic.Int64)
		fp, err := faultproxy.Start(ctx, faultproxy.Config{Listen: "127.0.0.1:0", Upstream: upstream, NoClientTLS: true,
			OnEvent: func(e faultproxy.Event) {
				if e.Type == faultproxy.EventFault && e.Kind == faultproxy.KindLoseAnswer {
					lost.Add(1)
				}
			}})
		if err != nil {
			return r, err
		}
		defer fp.Close()
		if err := through(fp.Addr()); err != nil {
			return r, err
		}
		disrupt = func(ctx context.Context) error {
			if _, err := fp.Add(faultproxy.Fault{Kind: faultproxy.KindLoseAnswer, Count: clients}); err != nil {
				return err
			}
			return s.restart(ctx, "fast")
		}
	case "proxy-failover":
		fp, err := faultproxy.Start(ctx, faultproxy.Config{Listen: "127.0.0.1:0", Upstream: upstream, NoClientTLS: true})
		if err != nil {
			return r, err
		}
		defer fp.Close()
		if err := through(fp.Addr()); err != nil {
			return r, err
		}
		poll = cfg.ConnConfig.Config.Copy()
		failover, err := scenario.Builtin("failover")
		if err != nil {
			return r, err
		}
		disrupt = func(ctx context.Context) error {
			_, err := failover.Run(ctx, fp, scenario.RunOptions{Speed: s.speed})
			return err
		}
	default:
		d, ok := downFor(name)
		if !ok {
			return r, fmt.Errorf("unknown scenario %q (fast, immediate, lost-ack, proxy-failover, down-N)", name)
		}
		if s.down == nil {
			return r, fmt.Errorf("%s stops the server: only the throwaway one (not -conn)", name)
		}
		disrupt = func(ctx context.Context) error { return s.down(ctx, d) }
	}
	cfg.MaxConns = int32(clients)
	policy := retry.Interactive()
	if s.background {
		policy = retry.Background()
	}
	var maxWait, maxAttempt atomic.Int64
	policy.OnRetry = func(e retry.Event) {
		raise(&maxWait, int64(e.Wait))
		raise(&maxAttempt, int64(e.Attempt))
	}
	if app == "retry" {
		retry.PoolConfig(cfg, policy)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	db := sql.OpenDB(retry.Connector(stdlib.GetConnector(*cfg.ConnConfig), policy))
	defer db.Close()
	db.SetMaxOpenConns(clients)
	write, err := newWriter(app, pool, db, policy)
	if err != nil {
		return r, err
	}
	if err := pool.Ping(ctx); err != nil {
		return r, err
	}

	run := fmt.Sprintf("%s-%s-%d", name, app, time.Now().UnixNano())
	var (
		acked      atomic.Int64
		errCount   atomic.Int64
		restarting sync.Once
		outage     = make(chan outageTimes, 1)
		ackTimes   = make([][]time.Time, clients)
		failed     = make([][]string, clients)
		causesMu   sync.Mutex
		causes     = map[string]int{}
		wg         sync.WaitGroup
	)
	half := int64(clients * rows / 2)
	restartErr := make(chan error, 1)
	start := time.Now()
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range rows {
				request := fmt.Sprintf("%s-%d-%d", run, cl, seq)
				if err := write(ctx, request); err != nil {
					errCount.Add(1)
					what := string(retry.Classify(err).Cause.Code)
					if errors.Is(err, retry.ErrCommitUnknown) {
						what = "commit unknown"
					}
					causesMu.Lock()
					causes[what]++
					causesMu.Unlock()
					failed[cl] = append(failed[cl], request)
					continue
				}
				ackTimes[cl] = append(ackTimes[cl], time.Now())
				if acked.Add(1) == half {
					restarting.Do(func() {
						go func() { restartErr <- disruptMeasured(ctx, disrupt, poll, outage) }()
					})
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if acked.Load() < half {
		return r, fmt.Errorf("%s, %s: only %d of %d rows were acknowledged, so the server was never restarted (errors: %v)", name, app, acked.Load(), clients*rows, causes)
	}
	if err := <-restartErr; err != nil {
		return r, err
	}
	o := <-outage
	r.outage = o.end.Sub(o.start)
	r.errors = int(errCount.Load())
	r.rate = float64(acked.Load()) / elapsed.Seconds()
	for _, times := range ackTimes {
		for i := 1; i < len(times); i++ {
			r.maxStall = max(r.maxStall, times[i].Sub(times[i-1]))
		}
		for _, at := range times {
			if !at.Before(o.end) {
				r.resumed = max(r.resumed, at.Sub(o.end))
				break
			}
		}
	}

	counts, err := s.counts(ctx, run)
	if err != nil {
		return r, err
	}
	for cl := range clients {
		for seq := range rows {
			request := fmt.Sprintf("%s-%d-%d", run, cl, seq)
			if n := counts[request]; n > 1 {
				r.duplicated += n - 1
			}
		}
		for _, request := range failed[cl] {
			if counts[request] > 0 {
				r.unackedCommitted++
			}
		}
	}
	ackedRows := int(acked.Load())
	present := 0
	for cl := range clients {
		for seq := range rows {
			if counts[fmt.Sprintf("%s-%d-%d", run, cl, seq)] > 0 {
				present++
			}
		}
	}
	// Every acknowledged row must be there: lost = acknowledged minus acknowledged-and-present.
	r.lost = ackedRows - (present - r.unackedCommitted)
	var notes []string
	if len(causes) > 0 {
		var list []string
		for what, n := range causes {
			list = append(list, fmt.Sprintf("%s %d", what, n))
		}
		sort.Strings(list)
		notes = append(notes, "errors: "+strings.Join(list, ", "))
	}
	if lost != nil {
		r.cuts = int(lost.Load())
		notes = append(notes, fmt.Sprintf("%d COMMITs committed with their answer lost on purpose", r.cuts))
	}
	if n := int(maxAttempt.Load()); n > 0 {
		notes = append(notes, fmt.Sprintf("up to %d retries of a row; longest backoff step %s (waited at most %s)",
			n, ms(policy.Step(n)), ms(time.Duration(maxWait.Load()))))
	}
	r.note = strings.Join(notes, "; ")
	return r, nil
}

// downFor reads the scenario "down-N": the server stopped (fast) for N seconds, then started again.
func downFor(name string) (time.Duration, bool) {
	n, ok := strings.CutPrefix(name, "down-")
	secs, err := strconv.ParseFloat(n, 64)
	if !ok || err != nil || secs < 0 || secs > 3600 {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

type outageTimes struct{ start, end time.Time }

// disruptMeasured runs disrupt (a restart, a fault scenario) and measures the outage: from its start until a new
// connection with poll's settings succeeds again after one has failed (polled every 5 ms).
func disruptMeasured(ctx context.Context, disrupt func(context.Context) error, poll *pgconn.Config, out chan<- outageTimes) error {
	start := time.Now()
	pollCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	end := make(chan time.Time, 1)
	go func() {
		down := false
		for pollCtx.Err() == nil {
			attempt, cancelAttempt := context.WithTimeout(pollCtx, time.Second)
			c, err := pgconn.ConnectConfig(attempt, poll)
			cancelAttempt()
			if err != nil {
				down = true
			} else {
				c.Close(pollCtx)
				if down {
					end <- time.Now()
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		end <- time.Now()
	}()
	if err := disrupt(ctx); err != nil {
		return err
	}
	out <- outageTimes{start, <-end}
	return nil
}

// counts returns how many rows each request of the run has.
func (s *server) counts(ctx context.Context, run string) (map[string]int, error) {
	conn, err := pgx.Connect(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT request, count(*) FROM failover_rows WHERE starts_with(request, $1) GROUP BY request`, run+"-")
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	var request string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&request, &n}, func() error { counts[request] = n; return nil })
	return counts, err
}

// raise makes v at least x.
func raise(v *atomic.Int64, x int64) {
	for old := v.Load(); x > old && !v.CompareAndSwap(old, x); old = v.Load() {
	}
}
