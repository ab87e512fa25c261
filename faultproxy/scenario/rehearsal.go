package scenario

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
)

// Recorder keeps the events of a proxy for a Rehearsal. Pass its Record method as faultproxy.Config.OnEvent;
// Rehearse does.
type Recorder struct {
	mu     sync.Mutex
	events []faultproxy.Event
}

// Record keeps e; it only appends under a lock, so it does not hold the proxy up.
func (r *Recorder) Record(e faultproxy.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far.
func (r *Recorder) Events() []faultproxy.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Rehearsal is what each client experienced while a scenario ran: the report of `pgtriage rehearse`.
//
// A client is the application_name its connections give or, without one, user@database from the client's IP
// address. Connections that never send a startup message (refused, reset or blackholed at accept) name no user:
// they count for the one client seen from their IP address. When several clients share the address they cannot be
// told apart: they are counted under "unidentified from IP", which has no disruptions of its own, and the clients'
// disruptions start with their first failure that names them. Run each application from its own host (or
// loopback address) to see every failure of each.
//
// Offsets are from the scenario's start; events before it (the warm-up) have negative offsets.
type Rehearsal struct {
	Scenario    string             `json:"scenario"`
	Speed       float64            `json:"speed"`
	Start       time.Time          `json:"start"`
	End         time.Time          `json:"end"`
	Interrupted bool               `json:"interrupted,omitempty"`
	Timeline    []Change           `json:"timeline"`
	Clients     []ClientExperience `json:"clients"`
}

// ClientExperience is one client's view of the rehearsal.
type ClientExperience struct {
	Client         string                  `json:"client"`
	Connections    int                     `json:"connections"`     // connections the client opened through the proxy
	Sessions       int                     `json:"sessions"`        // of which reached ReadyForQuery
	FailedAttempts int                     `json:"failed_attempts"` // of which failed before ReadyForQuery
	SessionsEnded  int                     `json:"sessions_ended"`  // sessions a fault ended (terminate, reset)
	Errors         map[string]int          `json:"errors"`          // SQLSTATE of each error the proxy sent, and how often
	Faults         map[faultproxy.Kind]int `json:"faults"`          // connections each kind of fault acted on
	Disruptions    []Disruption            `json:"disruptions"`
	// LongestGapS is the longest time the client had no session while it tried to get one: from the end of its last
	// session (or the start of a failed attempt when it had none) to its next session, counting only gaps that hold
	// a failure. A gap still open at the end lasts until the end.
	LongestGapS float64 `json:"longest_gap_s"`
	Back        bool    `json:"back"` // every disruption ended with a new session before the end
	// Unidentified marks the connections that failed before a startup message, from an address several clients
	// share: only their counts are known.
	Unidentified bool `json:"unidentified,omitempty"`
}

// Disruption is one stretch in which a client met failures, until it was back.
//
// It starts at the first failure while the client was not already disrupted: a fault acting on one of its
// connections, or a connection of its failing before ReadyForQuery. It ends when a connection of the client reaches
// ReadyForQuery after that moment: the client is back.
type Disruption struct {
	StartS float64 `json:"start_s"`                // offset of the first failure
	Cause  string  `json:"cause"`                  // what the first failure was: "terminate 57P01", "refuse", "error 53300", ...
	BackS  float64 `json:"back_s"`                 // offset of the first session after the start; absent when not back
	Back   bool    `json:"back"`                   // a session came before the end
	AfterS float64 `json:"back_after_s,omitempty"` // back minus start
	// LiftedS is how long after the faults were lifted the client was back: back minus the later of the start and
	// the first moment at or after the start when the scenario had no fault in force. It measures the client's own
	// retry delay; 0 when it was back while faults were still in force.
	LiftedS float64 `json:"after_lifted_s"`
}

// connRecord is what the events say about one connection.
type connRecord struct {
	ip                     string
	user, database, app    string
	startup                bool // a startup message was seen (the events name a user)
	named                  bool // without a startup, given to the only client of its address
	accepted, session, end time.Time
	faults                 []faultproxy.Event
	failFault, endFault    *faultproxy.Event // the first disruptive fault before ReadyForQuery, and after it
}

// disruptive faults end or prevent sessions; latency, trickle and read_only only slow or restrict them.
func disruptive(k faultproxy.Kind) bool {
	return k == faultproxy.KindRefuse || k == faultproxy.KindBlackhole || k == faultproxy.KindReset || k == faultproxy.KindError || k == faultproxy.KindTerminate
}

// failed says whether the connection was an attempt that failed before ReadyForQuery.
func (c *connRecord) failed() bool {
	return c.session.IsZero() && (c.failFault != nil || c.startup && !c.end.IsZero())
}

// failedAt is when a failed attempt failed: at the fault, else when it closed.
func (c *connRecord) failedAt() time.Time {
	if c.failFault != nil {
		return c.failFault.Time
	}
	return c.end
}

func (c *connRecord) failCause() string {
	if c.failFault != nil {
		return faultCause(*c.failFault)
	}
	return "failed before ReadyForQuery"
}

func faultCause(e faultproxy.Event) string {
	return strings.TrimSpace(string(e.Kind) + " " + e.Code)
}

// newRehearsal builds the report from the timeline the scenario ran and the proxy's events. start is the scenario's
// start, end the end of the observation (after the cool-down); later events are left out, since stopping the proxy
// or the application ends connections that no fault touched.
func newRehearsal(s *Scenario, speed float64, start, end time.Time, timeline []Change, events []faultproxy.Event) *Rehearsal {
	r := &Rehearsal{Scenario: s.Name, Speed: speed, Start: start, End: end, Timeline: timeline, Clients: []ClientExperience{}}
	if r.Timeline == nil {
		r.Timeline = []Change{}
	}
	conns := map[uint64]*connRecord{}
	var order []*connRecord
	for _, e := range events {
		if e.Time.After(end) {
			continue // closing the proxy (or the application) after the observation ends connections: not a fault
		}
		c := conns[e.Conn]
		if c == nil {
			c = &connRecord{}
			if host, _, err := net.SplitHostPort(e.Client); err == nil {
				c.ip = host
			} else {
				c.ip = e.Client
			}
			conns[e.Conn] = c
			order = append(order, c)
		}
		if e.User != "" || e.App != "" {
			c.startup = true
			c.user, c.database, c.app = cmp.Or(c.user, e.User), cmp.Or(c.database, e.Database), cmp.Or(c.app, e.App)
		}
		switch e.Type {
		case faultproxy.EventAccepted:
			c.accepted = e.Time
		case faultproxy.EventSession:
			c.session = e.Time
		case faultproxy.EventClosed:
			c.end = e.Time
		case faultproxy.EventFault:
			c.faults = append(c.faults, e)
			switch {
			case !disruptive(e.Kind):
			case c.session.IsZero() && c.failFault == nil:
				c.failFault = &e
			case !c.session.IsZero() && c.endFault == nil:
				c.endFault = &e
			}
		}
	}
	// Name each connection's client; connections without a startup go to the only client of their IP address.
	byIP := map[string]map[string]bool{}
	for _, c := range order {
		if c.startup {
			if byIP[c.ip] == nil {
				byIP[c.ip] = map[string]bool{}
			}
			byIP[c.ip][clientName(c)] = true
		}
	}
	groups := map[string][]*connRecord{}
	var names []string
	for _, c := range order {
		name := clientName(c)
		if !c.startup {
			if ids := byIP[c.ip]; len(ids) == 1 {
				name, c.named = slices.Collect(maps.Keys(ids))[0], true
			} else if !c.failed() {
				continue // a cancel request or a client that left before its startup: nothing happened to it
			}
		}
		if groups[name] == nil {
			names = append(names, name)
		}
		groups[name] = append(groups[name], c)
	}
	slices.Sort(names)
	w := windows(timeline)
	for _, name := range names {
		r.Clients = append(r.Clients, experience(name, groups[name], start, end, w))
	}
	return r
}

func clientName(c *connRecord) string {
	switch {
	case c.app != "":
		return c.app
	case c.startup:
		return fmt.Sprintf("%s@%s from %s", c.user, c.database, c.ip)
	}
	return "unidentified from " + c.ip
}

// faultWindow is a stretch of time with at least one fault in force.
type faultWindow struct{ from, to time.Time }

// windows turns the timeline into the stretches with faults in force. A terminate is in force only at its instant.
func windows(timeline []Change) []faultWindow {
	var out []faultWindow
	active := map[string]bool{}
	for _, c := range timeline {
		before := len(active)
		for _, id := range c.Removed {
			delete(active, id)
		}
		for _, f := range c.Added {
			if f.Kind != faultproxy.KindTerminate {
				active[f.ID] = true
			}
		}
		switch {
		case before == 0 && len(active) > 0:
			out = append(out, faultWindow{from: c.Time})
		case before > 0 && len(active) == 0:
			out[len(out)-1].to = c.Time
		}
	}
	return out
}

// liftedAt is the first moment at or after t when no fault was in force (t itself when none was).
func liftedAt(w []faultWindow, t time.Time) time.Time {
	for _, fw := range w {
		if !t.Before(fw.from) && (fw.to.IsZero() || t.Before(fw.to)) {
			if fw.to.IsZero() {
				return t
			}
			return fw.to
		}
	}
	return t
}

// experience sweeps one client's connections in time order.
func experience(name string, conns []*connRecord, start, end time.Time, w []faultWindow) ClientExperience {
	x := ClientExperience{Client: name, Errors: map[string]int{}, Faults: map[faultproxy.Kind]int{}, Disruptions: []Disruption{}, Back: true,
		Unidentified: !conns[0].startup && !conns[0].named}
	type point struct {
		t    time.Time
		kind int // order at equal times: sessions first, then ends, then failures
		c    *connRecord
	}
	const (
		pSession = iota
		pEnd
		pFail
	)
	var points []point
	for _, c := range conns {
		x.Connections++
		if !c.session.IsZero() {
			x.Sessions++
			points = append(points, point{c.session, pSession, c})
			if !c.end.IsZero() {
				points = append(points, point{c.end, pEnd, c})
			}
			if c.endFault != nil {
				x.SessionsEnded++
			}
		}
		if c.failed() {
			x.FailedAttempts++
			points = append(points, point{c.failedAt(), pFail, c})
		}
	}
	x.Errors, x.Faults = faultCounts(conns)
	if x.Unidentified {
		return x
	}
	slices.SortStableFunc(points, func(a, b point) int {
		return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.kind, b.kind))
	})
	offset := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	var (
		live       = map[*connRecord]bool{}
		open       *Disruption
		openStart  time.Time
		gapStart   time.Time // zero: no gap open
		gapFailed  bool
		longestGap time.Duration
	)
	closeGap := func(t time.Time) {
		if !gapStart.IsZero() && gapFailed {
			longestGap = max(longestGap, t.Sub(gapStart))
		}
		gapStart, gapFailed = time.Time{}, false
	}
	disrupt := func(t time.Time, cause string) {
		if open == nil {
			open, openStart = &Disruption{StartS: offset(t), Cause: cause}, t
		}
	}
	for _, p := range points {
		switch p.kind {
		case pSession:
			live[p.c] = true
			closeGap(p.t)
			if open != nil && p.t.After(openStart) {
				open.Back, open.BackS, open.AfterS = true, offset(p.t), p.t.Sub(openStart).Seconds()
				open.LiftedS = max(0, p.t.Sub(liftedAt(w, openStart)).Seconds())
				x.Disruptions = append(x.Disruptions, *open)
				open = nil
			}
		case pEnd:
			delete(live, p.c)
			if p.c.endFault != nil {
				disrupt(p.c.endFault.Time, faultCause(*p.c.endFault))
			}
			if len(live) == 0 {
				gapStart, gapFailed = p.t, p.c.endFault != nil
			}
		case pFail:
			disrupt(p.t, p.c.failCause())
			if len(live) == 0 {
				if gapStart.IsZero() {
					gapStart = p.c.accepted
				}
				gapFailed = true
			}
		}
	}
	closeGap(end)
	if open != nil {
		x.Back = false
		x.Disruptions = append(x.Disruptions, *open)
	}
	x.LongestGapS = longestGap.Seconds()
	return x
}

// faultCounts counts the errors sent (by SQLSTATE) and the connections each kind of fault acted on.
func faultCounts(conns []*connRecord) (map[string]int, map[faultproxy.Kind]int) {
	errs, kinds := map[string]int{}, map[faultproxy.Kind]int{}
	for _, c := range conns {
		seen := map[faultproxy.Kind]bool{}
		for _, e := range c.faults {
			if e.Code != "" {
				errs[e.Code]++
			}
			if !seen[e.Kind] {
				seen[e.Kind] = true
				kinds[e.Kind]++
			}
		}
	}
	return errs, kinds
}

// WriteText prints the timeline and one block per client, for people.
func (r *Rehearsal) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Scenario %s", r.Scenario)
	if r.Speed != 1 {
		fmt.Fprintf(&b, " at %gx speed", r.Speed)
	}
	if r.Interrupted {
		b.WriteString(" (interrupted)")
	}
	b.WriteString("\n\nTimeline:\n")
	for _, c := range r.Timeline {
		fmt.Fprintf(&b, "  %+7.1fs  %s\n", c.Time.Sub(r.Start).Seconds(), c)
	}
	fmt.Fprintf(&b, "  %+7.1fs  end of observation\n", r.End.Sub(r.Start).Seconds())
	b.WriteString("\nClients:\n")
	if len(r.Clients) == 0 {
		b.WriteString("  none: no client connected through the proxy\n")
	}
	for _, x := range r.Clients {
		fmt.Fprintf(&b, "  %s\n", x.Client)
		fmt.Fprintf(&b, "    %s: %s, %s; %s ended by a fault\n", plural(x.Connections, "connection"),
			plural(x.Sessions, "session"), plural(x.FailedAttempts, "failed attempt"), plural(x.SessionsEnded, "session"))
		if len(x.Faults) > 0 {
			fmt.Fprintf(&b, "    faults met: %s\n", countList(x.Faults))
		}
		if len(x.Errors) > 0 {
			fmt.Fprintf(&b, "    errors sent: %s\n", countList(x.Errors))
		}
		if x.Unidentified {
			b.WriteString("    (failed before any startup message, from an address several clients share: they cannot be told apart)\n")
			continue
		}
		writeDisruptions(&b, x.Disruptions)
		fmt.Fprintf(&b, "    longest gap without a session while trying: %.1fs\n", x.LongestGapS)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeDisruptions lists a few disruptions; a storm of short ones is summed up by the longest. One that never
// ended is always shown.
func writeDisruptions(b *strings.Builder, ds []Disruption) {
	const shown = 3
	if len(ds) == 0 {
		b.WriteString("    not disrupted\n")
	}
	for i, d := range ds {
		if i >= shown && d.Back {
			if i == shown {
				longest := slices.MaxFunc(ds, func(a, b Disruption) int { return cmp.Compare(a.AfterS, b.AfterS) })
				fmt.Fprintf(b, "    ... %d more; the longest until back began at %+.1fs (%s): back %.1fs later\n",
					len(ds)-shown-notBack(ds[shown:]), longest.StartS, longest.Cause, longest.AfterS)
			}
			continue
		}
		switch {
		case !d.Back:
			fmt.Fprintf(b, "    disrupted at %+.1fs (%s): NOT back by the end\n", d.StartS, d.Cause)
		case d.LiftedS == 0:
			fmt.Fprintf(b, "    disrupted at %+.1fs (%s): back at %+.1fs, %.1fs later, while the faults were still in force\n",
				d.StartS, d.Cause, d.BackS, d.AfterS)
		default:
			fmt.Fprintf(b, "    disrupted at %+.1fs (%s): back at %+.1fs, %.1fs later (%.1fs after the faults were lifted)\n",
				d.StartS, d.Cause, d.BackS, d.AfterS, d.LiftedS)
		}
	}
}

func notBack(ds []Disruption) int {
	n := 0
	for _, d := range ds {
		if !d.Back {
			n++
		}
	}
	return n
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func countList[K ~string](m map[K]int) string {
	keys := slices.Sorted(maps.Keys(m))
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

// describeFault says what a fault does in a few words, for timelines.
func describeFault(f faultproxy.Fault) string {
	s := string(f.Kind)
	switch f.Kind {
	case faultproxy.KindError, faultproxy.KindTerminate:
		s += " " + string(f.Cause)
	case faultproxy.KindReset:
		s += " at " + string(f.At)
		if f.At == faultproxy.AtBytes {
			s += fmt.Sprintf(" %d", f.Bytes)
		}
	case faultproxy.KindLatency:
		s += fmt.Sprintf(" %s %s", time.Duration(f.Delay), f.Direction)
	case faultproxy.KindTrickle:
		s += fmt.Sprintf(" %d B/s %s", f.Rate, f.Direction)
	case faultproxy.KindLoseAnswer:
		s += " " + f.Statement
		if f.Count > 0 {
			s += fmt.Sprintf(" ×%d", f.Count)
		}
	}
	if f.Share > 0 && f.Share < 1 {
		s += fmt.Sprintf(" to %g%%", f.Share*100)
	}
	if f.ID != "" {
		s += " [" + f.ID + "]"
	}
	return s
}
