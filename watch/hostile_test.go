package watch_test

import (
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/watch"
)

// TestHostileTargets: a watched server that floods the client or breaks the SCRAM exchange is named as
// misbehaving, one that never finishes its startup is server.unresponsive (not tcp.timeout: the TCP connection
// opened), and a target that never connected exports no server facts (no pgtriage_server_in_recovery 0, which
// would say "a primary").
func TestHostileTargets(t *testing.T) {
	pgtest.Isolate(t)
	want := map[pgtest.Hostile]catalog.Code{
		pgtest.EndlessNotices:    catalog.ProtocolMisbehaving,
		pgtest.EndlessParameters: catalog.ProtocolMisbehaving,
		pgtest.HugeError:         catalog.ProtocolMisbehaving,
		pgtest.BogusSCRAM:        catalog.ProtocolMisbehaving,
		pgtest.NeverReady:        catalog.ServerUnresponsive,
	}
	var targets []watch.Target
	for how := range want {
		srv := pgtest.StartHostile(t, how)
		// connect_timeout is long enough for a loaded machine (and the race detector) to reach the limits, and the
		// one that never ends its startup still ends within the test's wait.
		tg := target(t, srv.ConnString("connect_timeout=10 password=s3cret-pw"))
		tg.Name = string(how)
		targets = append(targets, tg)
	}
	opts := fast()
	// Retried every second, not every 50 ms: five fakes that flood every connection would load the machine more
	// than the test needs, and a time-out under that load would hide the verdict.
	opts.RetryInterval = time.Second
	opts.Metrics = watch.NewMetrics()
	_, rec := run(t, targets, opts)
	for how, code := range want {
		// The verdict waited for: a loaded machine may first see a time-out, never a wrong name.
		rec.waitFor(t, 0, string(how)+" "+string(code), func(ev eventlog.Event) bool {
			return (ev.Type == eventlog.EventOutageStart || ev.Type == eventlog.EventOutageCause) && ev.Target == string(how) && ev.Code == code
		})
	}
	for _, ev := range rec.all() {
		if ev.Code != "" && ev.Code != want[pgtest.Hostile(ev.Target)] && ev.Code != catalog.ServerUnresponsive {
			t.Errorf("%s: %s (%s)", ev.Target, ev.Code, ev.Evidence)
		}
	}
	s := scrape(t, opts.Metrics)
	for how := range want {
		for _, name := range []string{"pgtriage_server_in_recovery", "pgtriage_server_start_time_seconds"} {
			if v, ok := s.value(name, map[string]string{"target": string(how)}); ok {
				t.Errorf("%s: %s is %g for a target that never connected", how, name, v)
			}
		}
	}
}
