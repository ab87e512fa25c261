package scenario

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
)

// TestRehearsalDefinitions pins down what the report counts, on a timeline of events written out by hand: when a
// disruption starts and ends, how long after the faults were lifted a client was back, the longest gap, and who a
// connection without a startup message belongs to.
func TestRehearsalDefinitions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	timeline := []Change{
		{Time: at(0), Added: []faultproxy.Fault{{ID: "down", Kind: faultproxy.KindRefuse}, {ID: "t", Kind: faultproxy.KindTerminate}}},
		{Time: at(2), Removed: []string{"down"}, Added: []faultproxy.Fault{{ID: "up", Kind: faultproxy.KindError}}},
		{Time: at(4), Removed: []string{"up"}},
	}
	var events []faultproxy.Event
	conn := uint64(0)
	// add records one connection: accepted at from, then the given events in order at their times.
	add := func(client, app string, from float64, steps ...faultproxy.Event) {
		conn++
		events = append(events, faultproxy.Event{Time: at(from), Conn: conn, Client: client, Type: faultproxy.EventAccepted})
		for _, e := range steps {
			e.Conn, e.Client = conn, client
			if app != "" { // "-": a startup without application_name
				e.User, e.Database, e.App = "app", "orders", strings.TrimPrefix(app, "-")
			}
			events = append(events, e)
		}
	}
	session := func(s float64) faultproxy.Event { return faultproxy.Event{Time: at(s), Type: faultproxy.EventSession} }
	closed := func(s float64) faultproxy.Event { return faultproxy.Event{Time: at(s), Type: faultproxy.EventClosed} }
	fault := func(s float64, k faultproxy.Kind, code string) faultproxy.Event {
		return faultproxy.Event{Time: at(s), Type: faultproxy.EventFault, Kind: k, Code: code}
	}
	// api, alone on 10.0.0.1: its session is terminated, a refused attempt (no startup), a 57P03, then back at 4.5.
	add("10.0.0.1:1", "api", -1, session(-0.99), fault(0.001, faultproxy.KindTerminate, "57P01"), closed(0.002))
	add("10.0.0.1:2", "", 0.1, fault(0.1, faultproxy.KindRefuse, ""), closed(0.1))
	add("10.0.0.1:3", "api", 2.1, fault(2.1, faultproxy.KindError, "57P03"), closed(2.1))
	add("10.0.0.1:4", "api", 4.5, session(4.51))
	// web and worker share 10.0.0.2: web is never touched, a refused connection from the address names nobody.
	add("10.0.0.2:1", "web", -1, session(-0.99))
	add("10.0.0.2:2", "worker", -1, session(-0.99))
	add("10.0.0.2:3", "", 0.5, fault(0.5, faultproxy.KindRefuse, ""), closed(0.5))
	// A client without application_name is user@database from its address; it never gets back.
	add("10.0.0.3:1", "-", 2.5, fault(2.5, faultproxy.KindError, "57P03"), closed(2.5))

	r := newRehearsal(&Scenario{Name: "hand"}, 1, t0, at(6), timeline, events)
	got := map[string]ClientExperience{}
	for _, x := range r.Clients {
		got[x.Client] = x
	}
	if len(got) != 5 {
		t.Fatalf("clients: %+v", r.Clients)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	api := got["api"]
	if api.Connections != 4 || api.Sessions != 2 || api.FailedAttempts != 2 || api.SessionsEnded != 1 ||
		api.Errors["57P01"] != 1 || api.Errors["57P03"] != 1 || api.Faults[faultproxy.KindRefuse] != 1 || !api.Back {
		t.Errorf("api counts: %+v", api)
	}
	if len(api.Disruptions) != 1 {
		t.Fatalf("api disruptions: %+v", api.Disruptions)
	}
	d := api.Disruptions[0]
	// Disrupted by the terminate at 0.001, back with the session at 4.51: 0.51 s after the last fault was lifted at 4.
	if d.Cause != "terminate 57P01" || !near(d.StartS, 0.001) || !near(d.BackS, 4.51) || !near(d.AfterS, 4.509) || !near(d.LiftedS, 0.51) {
		t.Errorf("api disruption: %+v", d)
	}
	// No session from the end of the terminated one (0.002) to the new one (4.51).
	if !near(api.LongestGapS, 4.508) {
		t.Errorf("api longest gap %v", api.LongestGapS)
	}
	if web := got["web"]; len(web.Disruptions) != 0 || web.Connections != 1 || !web.Back || web.LongestGapS != 0 {
		t.Errorf("web: %+v", web)
	}
	if u := got["unidentified from 10.0.0.2"]; !u.Unidentified || u.Faults[faultproxy.KindRefuse] != 1 || len(u.Disruptions) != 0 || !u.Back {
		t.Errorf("unidentified: %+v", u)
	}
	lost := got["app@orders from 10.0.0.3"]
	if lost.Back || len(lost.Disruptions) != 1 || lost.Disruptions[0].Back || !near(lost.LongestGapS, 3.5) {
		t.Errorf("app@orders: want not back, a gap from 2.5 to the end at 6: %+v", lost)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"disrupted at +0.0s (terminate 57P01): back at +4.5s, 4.5s later (0.5s after the faults were lifted)",
		"disrupted at +2.5s (error 57P03): NOT back by the end",
		"cannot be told apart",
		"+6.0s  end of observation",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}
