package scenario_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/faultproxy/scenario"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestRehearse rehearses an inline scenario against a real server in one call, with an application that keeps one
// session and reconnects after a failure: its session is terminated, it meets 57P03 for a second, and it is back.
func TestRehearse(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "secret"}}})
	s, err := scenario.Parse("blip.yaml", []byte(`
name: blip
steps:
  - at: 0s
    note: the server restarts
    add: [{kind: error, cause: server.starting_up}, {kind: terminate}]
    for: 1s
`))
	if err != nil {
		t.Fatal(err)
	}
	app := &appClient{name: "orders-api", local: "127.0.0.4", pooled: true}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	var log strings.Builder
	var seen atomic.Int64
	r, err := scenario.Rehearse(testCtx(t), s, scenario.RehearseOptions{
		Proxy: faultproxy.Config{Listen: "127.0.0.1:0", Upstream: upstream(c), OnEvent: func(faultproxy.Event) { seen.Add(1) }},
		Log:   &log,
		Ready: func(_ context.Context, p *faultproxy.Proxy) error {
			cfg, err := appConfig(p)
			if err != nil {
				return err
			}
			wg.Go(func() { app.run(ctx, cfg) })
			pgtest.WaitFor(t, "the first query", func() bool { return app.okAfter(time.Time{}) })
			return nil
		},
		Settle: func(context.Context) error {
			over := time.Now()
			pgtest.WaitFor(t, "the application to be back", func() bool { return app.okAfter(over) })
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log(log.String() + text.String())
	if r.Scenario != "blip" || r.Speed != 1 || r.Interrupted || len(r.Timeline) != 2 || seen.Load() == 0 {
		t.Errorf("scenario %q at %vx, interrupted %v, %d timeline entries, %d events to Config.OnEvent",
			r.Scenario, r.Speed, r.Interrupted, len(r.Timeline), seen.Load())
	}
	for _, want := range []string{"proxy listening on 127.0.0.1:", "add error server.starting_up [error-1]; add terminate server.terminated", "waiting for the clients to settle"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("progress lacks %q", want)
		}
	}
	if len(r.Clients) != 1 || r.Clients[0].Client != "orders-api" {
		t.Fatalf("clients: %+v", r.Clients)
	}
	x := r.Clients[0]
	if x.SessionsEnded != 1 || x.Errors["57P01"] != 1 || x.Errors["57P03"] < 1 || x.Faults[faultproxy.KindError] < 1 || !x.Back {
		t.Errorf("orders-api: want its session ended with 57P01, attempts answered 57P03, then back: %+v", x)
	}
	// From the scenario's start (a slow first connection before it would be a disruption of its own): one
	// disruption, from the terminate until a session after the error was lifted a second later.
	var during []scenario.Disruption
	for _, d := range x.Disruptions {
		if d.StartS >= 0 {
			during = append(during, d)
		}
	}
	if len(during) != 1 || during[0].Cause != "terminate 57P01" || during[0].AfterS < 0.9 || !during[0].Back {
		t.Errorf("orders-api disruptions: %+v", x.Disruptions)
	}
}
