package scenario_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/faultproxy/scenario"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestBuiltinScenarios: every built-in parses, lasts, and ends with no fault in force (plan checks that).
func TestBuiltinScenarios(t *testing.T) {
	want := []string{"connection-storm", "failover", "firewall", "flaky", "maintenance", "pooler-full", "scale", "slow"}
	if got := scenario.Builtins(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("built-ins %v, want %v", got, want)
	}
	for _, name := range want {
		s, err := scenario.Builtin(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if s.Name != name || s.Description == "" || s.Duration() < 5*time.Second || s.Duration() > time.Minute {
			t.Errorf("%s: name %q, description %q, duration %s", name, s.Name, s.Description, s.Duration())
		}
		src, ok := scenario.BuiltinSource(name)
		if !ok || !strings.HasPrefix(string(src), "# ") {
			t.Errorf("%s: the source should open with a comment that says what it stands for:\n%s", name, src)
		}
	}
	if _, err := scenario.Builtin("failvoer"); err == nil || !strings.Contains(err.Error(), "built in: connection-storm, failover") {
		t.Errorf("unknown built-in: %v", err)
	}
}

// TestScenarioErrors: each file under testdata/scenarios/bad says on its first line the error it must give.
func TestScenarioErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/scenarios/bad/*.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d bad scenarios", len(files))
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		want, ok := strings.CutPrefix(first, "# want: ")
		if !ok {
			t.Fatalf("%s: first line must be # want: ERROR", file)
		}
		_, err = scenario.Parse(filepath.Base(file), data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got  %v\n want %s", file, err, want)
		}
	}
}

// TestScenarioFormat: a file with every kind of step, and the timeline it compiles to.
func TestScenarioFormat(t *testing.T) {
	src := `
name: custom
description: a bit of everything
steps:
  - at: 0s
    note: first
    add:
      - {id: down, kind: refuse}
      - {kind: terminate, cause: "57P02"}
      - {kind: error, cause: limits.too_many_connections, share: 0.5}
    for: 2s
  - at: 2s
    add: [{id: slow, kind: latency, delay: 250ms}]
  - at: 3.5s
    remove: [slow]
`
	s, err := scenario.Parse("custom.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration() != 3500*time.Millisecond {
		t.Errorf("duration %s", s.Duration())
	}
	ids := []string{s.Steps[0].Add[0].ID, s.Steps[0].Add[1].ID, s.Steps[0].Add[2].ID}
	if strings.Join(ids, ",") != "down,terminate-1,error-1" {
		t.Errorf("ids %v", ids)
	}
	if f := s.Steps[1].Add[0]; f.Kind != faultproxy.KindLatency || time.Duration(f.Delay) != 250*time.Millisecond {
		t.Errorf("latency fault %+v", f)
	}
	// The same file as JSON is accepted too; without a name, the scenario is named after the file.
	js := `{"steps": [{"at": "0s", "add": [{"kind": "blackhole"}], "for": "1s"}]}`
	if s, err := scenario.Parse("dir/j.json", []byte(js)); err != nil || s.Name != "j" || s.Steps[0].Add[0].Kind != faultproxy.KindBlackhole {
		t.Errorf("JSON: %v", err)
	}
}

// FuzzParse: no input makes the parser panic; whatever parses validates.
func FuzzParse(f *testing.F) {
	for _, name := range scenario.Builtins() {
		src, _ := scenario.BuiltinSource(name)
		f.Add(src)
	}
	files, _ := filepath.Glob("testdata/scenarios/bad/*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := scenario.Parse("fuzz.yaml", data)
		if err == nil {
			if err := s.Validate(); err != nil {
				t.Fatalf("parsed but does not validate: %v", err)
			}
		}
	})
}

// appClient is an application loop through the proxy: it runs `select 1` every few milliseconds, and reconnects
// after a failure.
type appClient struct {
	name    string       // its application_name
	local   string       // the loopback address it connects from, so that connections refused before any startup are its own
	pooled  bool         // keeps its session; else a new connection for every query
	slowest atomic.Int64 // the slowest successful query, in nanoseconds
	lastOK  atomic.Int64 // when the last successful query ended, in Unix nanoseconds
}

// okAfter says whether a query of the client succeeded after t.
func (c *appClient) okAfter(t time.Time) bool {
	last := c.lastOK.Load()
	return last != 0 && (t.IsZero() || last > t.UnixNano())
}

func (c *appClient) run(ctx context.Context, cfg *pgx.ConnConfig) {
	cfg.RuntimeParams["application_name"] = c.name
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.local)}}
	cfg.DialFunc = d.DialContext
	var conn *pgx.Conn
	var err error
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	closeConn := func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(cctx)
		cancel()
		conn = nil
	}
	for ctx.Err() == nil {
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, time.Second) // the application's connect timeout
			conn, err = pgx.ConnectConfig(cctx, cfg)
			cancel()
			if err != nil {
				conn = nil
				pause()
				continue
			}
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		_, err := conn.Exec(qctx, "select 1")
		cancel()
		if err == nil {
			c.lastOK.Store(time.Now().UnixNano())
			if took := time.Since(start); int64(took) > c.slowest.Load() {
				c.slowest.Store(int64(took))
			}
		}
		if err != nil || !c.pooled {
			closeConn()
		}
		pause()
	}
	if conn != nil {
		closeConn()
	}
}

// rehearseWithClients rehearses a built-in scenario at the given speed in front of c while a pooled client and a
// connection-per-query client run through the proxy: the scenario starts once both have run a query, and the
// observation ends once both are back.
func rehearseWithClients(t *testing.T, c *pgtest.Cluster, name string, speed float64) (*scenario.Rehearsal, map[string]*scenario.ClientExperience, []*appClient) {
	s, err := scenario.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	clients := []*appClient{{name: "pooled", local: "127.0.0.2", pooled: true}, {name: "fresh", local: "127.0.0.3"}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	var proxy *faultproxy.Proxy
	r, err := scenario.Rehearse(testCtx(t), s, scenario.RehearseOptions{
		Proxy: faultproxy.Config{Listen: "127.0.0.1:0", Upstream: upstream(c), Seed: 7, DialTimeout: 2 * time.Second},
		Speed: speed,
		Ready: func(_ context.Context, p *faultproxy.Proxy) error {
			proxy = p
			for _, cl := range clients {
				cfg, err := appConfig(p)
				if err != nil {
					return err
				}
				wg.Go(func() { cl.run(ctx, cfg) })
			}
			for _, cl := range clients {
				pgtest.WaitFor(t, cl.name+"'s first query", func() bool { return cl.okAfter(time.Time{}) })
			}
			return nil
		},
		Settle: func(context.Context) error {
			if f := proxy.Faults(); len(f) != 0 {
				t.Errorf("faults left in force after the scenario: %+v", f)
			}
			over := time.Now()
			for _, cl := range clients {
				pgtest.WaitFor(t, cl.name+" to be back", func() bool { return cl.okAfter(over) })
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Interrupted || r.Scenario != name || r.Speed != speed {
		t.Errorf("report of %s at %gx: %q at %gx, interrupted %v", name, speed, r.Scenario, r.Speed, r.Interrupted)
	}
	byName := map[string]*scenario.ClientExperience{}
	for i := range r.Clients {
		byName[r.Clients[i].Client] = &r.Clients[i]
	}
	for _, cl := range clients {
		if byName[cl.name] == nil {
			t.Fatalf("no report for client %s: %+v", cl.name, r.Clients)
		}
	}
	return r, byName, clients
}

// TestScenariosWithClients plays every built-in, five times faster, with real pgx clients through the proxy in front
// of a real server, and checks what the report says each client met.
func TestScenariosWithClients(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "secret"}}})
	tests := map[string]func(t *testing.T, pooled, fresh *scenario.ClientExperience, clients []*appClient){
		"failover": func(t *testing.T, pooled, fresh *scenario.ClientExperience, _ []*appClient) {
			wantEnded(t, pooled, "57P01")
			wantMet(t, fresh, faultproxy.KindError, "57P03")
		},
		"maintenance": func(t *testing.T, pooled, fresh *scenario.ClientExperience, _ []*appClient) {
			wantEnded(t, pooled, "57P01")
			wantMet(t, fresh, faultproxy.KindError, "57P03")
		},
		"scale": func(t *testing.T, pooled, fresh *scenario.ClientExperience, _ []*appClient) {
			wantEnded(t, pooled, "57P01")
			wantMet(t, fresh, faultproxy.KindError, "57P03")
		},
		"firewall": func(t *testing.T, pooled, fresh *scenario.ClientExperience, _ []*appClient) {
			wantUndisturbed(t, pooled)
			wantMet(t, fresh, faultproxy.KindBlackhole, "")
		},
		"connection-storm": func(t *testing.T, pooled, fresh *scenario.ClientExperience, _ []*appClient) {
			wantUndisturbed(t, pooled)
			wantMet(t, fresh, faultproxy.KindError, "53300")
			// Only a share is refused: the client got sessions during the storm too.
			if fresh.Sessions <= fresh.FailedAttempts/2 {
				t.Errorf("fresh: %d sessions, %d failed attempts: a storm of 30-80%% should leave many sessions", fresh.Sessions, fresh.FailedAttempts)
			}
		},
		"pooler-full": func(t *testing.T, pooled, fresh *scenario.ClientExperience, _ []*appClient) {
			wantUndisturbed(t, pooled)
			wantMet(t, fresh, faultproxy.KindError, "08P01") // PgBouncer's SQLSTATE for its own errors
		},
		"flaky": func(t *testing.T, _, fresh *scenario.ClientExperience, _ []*appClient) {
			wantMet(t, fresh, faultproxy.KindReset, "")
		},
		"slow": func(t *testing.T, pooled, _ *scenario.ClientExperience, clients []*appClient) {
			wantUndisturbed(t, pooled)
			// 200 ms each way on the query and its answer: a lower bound, whatever the machine's load.
			if slowest := time.Duration(clients[0].slowest.Load()); slowest < 400*time.Millisecond {
				t.Errorf("pooled: slowest query %s, want at least 400ms under 200ms of latency each way", slowest)
			}
		},
	}
	for _, name := range scenario.Builtins() {
		check := tests[name]
		if check == nil {
			t.Errorf("no test for built-in %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			r, byName, clients := rehearseWithClients(t, c, name, 5)
			check(t, byName["pooled"], byName["fresh"], clients)
			for _, x := range r.Clients {
				if !x.Back {
					t.Errorf("%s not back: %+v", x.Client, x)
				}
			}
			var b strings.Builder
			_ = r.WriteText(&b)
			t.Log(b.String()) // shown with -v, and when the test fails

		})
	}
}

// wantEnded: the client's live session was ended with code, and it came back.
func wantEnded(t *testing.T, x *scenario.ClientExperience, code string) {
	t.Helper()
	if x.SessionsEnded < 1 || x.Errors[code] < 1 || len(x.Disruptions) == 0 || x.Disruptions[0].Cause != "terminate "+code || !x.Back {
		t.Errorf("%s: want a session ended with %s, then back: %+v", x.Client, code, x)
	}
}

// wantMet: new connections of the client met the fault (and the error code, when given), and it came back.
func wantMet(t *testing.T, x *scenario.ClientExperience, kind faultproxy.Kind, code string) {
	t.Helper()
	if x.Faults[kind] < 1 || code != "" && x.Errors[code] < 1 || x.FailedAttempts < 1 || !x.Back {
		t.Errorf("%s: want attempts failed by %s %s, then back: %+v", x.Client, kind, code, x)
	}
}

func wantUndisturbed(t *testing.T, x *scenario.ClientExperience) {
	t.Helper()
	if x.SessionsEnded != 0 || len(x.Disruptions) != 0 {
		t.Errorf("%s: want no disruption: %+v", x.Client, x)
	}
}

// TestScenarioRunCancel: a scenario stopped half-way leaves no fault in force.
func TestScenarioRunCancel(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	p, err := faultproxy.Start(testCtx(t), faultproxy.Config{Listen: "127.0.0.1:0", Upstream: upstream(c)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := &scenario.Scenario{Name: "long", Steps: []scenario.Step{
		{At: 0, For: time.Hour, Add: []faultproxy.Fault{{ID: "down", Kind: faultproxy.KindRefuse}}},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	timeline, err := s.Run(ctx, p, scenario.RunOptions{OnChange: func(scenario.Change) {
		if len(p.Faults()) != 1 {
			t.Errorf("faults in force during the step: %+v", p.Faults())
		}
		cancel()
	}})
	if !errors.Is(err, context.Canceled) || len(timeline) != 1 {
		t.Fatalf("Run: %v, %d changes", err, len(timeline))
	}
	if f := p.Faults(); len(f) != 0 {
		t.Fatalf("faults left in force: %+v", f)
	}
}

func upstream(c *pgtest.Cluster) string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// appConfig connects to p as the test servers' role app, without TLS.
func appConfig(p *faultproxy.Proxy) (*pgx.ConnConfig, error) {
	return pgx.ParseConfig("postgres://app:secret@" + p.Addr() + "/postgres?sslmode=disable&connect_timeout=10")
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
