package watch

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/probe"
)

// State is what the view shows of a target.
type State string

// The states of a target.
const (
	StateUnknown State = "unknown" // no probe has finished yet
	StateUp      State = "up"
	StateDown    State = "down"
)

// Status is a target at one moment, for the terminal view.
type Status struct {
	Name  string
	State State
	Since time.Time
	// Cause and Evidence are the last failure's, also once the target is up again.
	Cause    catalog.Code
	Evidence string
	Latency  time.Duration // the last round trip of the held session
	Outages  int           // within the window
}

// target is the state of one watched server. mu guards everything below it; the session and login loops report
// to it, and it decides when outages start and end.
type target struct {
	Target
	w     *Watcher
	facts catalog.Facts // for the steps: host, port, user, database, sslmode, the managed service
	m     targetMetrics

	mu           sync.Mutex
	known        bool // a probe has finished
	sessionUp    bool
	loginFailing bool
	since        time.Time
	lastCode     catalog.Code
	lastEvidence string
	lastLatency  time.Duration
	outage       *openOutage
	recent       []time.Time // starts of the outages within the window
	server       eventlog.ServerFacts
	certWarned   string // fingerprint of the certificate already warned about
	tokenWarned  bool   // token_expiring was emitted
	announced    bool   // the server event of this run was written
	lat          [2]latencyRing
	nextLatency  time.Time
	diagnosing   bool

	refollow atomic.Bool // the addresses changed: the held session should reconnect

	cfg    [2]*pgconn.Config             // the held session's and the logins', see configs
	notice atomic.Pointer[pgconn.Notice] // the held session's last notice
	dialed [2]atomic.Bool                // the last connect of each kind opened a TCP connection (or socket)
}

// openOutage is an outage that has not ended.
type openOutage struct {
	start      time.Time
	codes      []eventlog.CodeCount
	evidence   map[catalog.Code]string // the first evidence of each code
	escalated  bool
	unobserved time.Duration
}

func (o *openOutage) add(code catalog.Code, evidence string) (isNew bool) {
	for i := range o.codes {
		if o.codes[i].Code == code {
			o.codes[i].Count++
			return false
		}
	}
	o.codes = append(o.codes, eventlog.CodeCount{Code: code, Count: 1})
	o.evidence[code] = evidence
	return true
}

// cause is the code most failed probes said; the first of equals.
func (o *openOutage) cause() catalog.Code {
	best := eventlog.CodeCount{}
	for _, c := range o.codes {
		if c.Count > best.Count {
			best = c
		}
	}
	return best.Code
}

func (t *target) status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := Status{Name: t.Name, State: StateUnknown, Since: t.since, Cause: t.lastCode, Evidence: t.lastEvidence,
		Latency: t.lastLatency, Outages: len(t.recent)}
	if t.known {
		st.State = StateUp
		if t.down() {
			st.State = StateDown
		}
	}
	return st
}

func (t *target) down() bool { return t.outage != nil }

// failed records a failed probe at a time: it starts an outage or adds to the open one.
func (t *target) failed(kind string, at time.Time, code catalog.Code, evidence string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if kind == eventlog.ProbeSession {
		t.sessionUp = false
	} else {
		t.loginFailing = true
	}
	t.known = true
	t.lastCode, t.lastEvidence = code, evidence
	t.m.failure(kind, code)
	if t.outage == nil {
		t.outage = &openOutage{start: at, evidence: map[catalog.Code]string{}}
		t.outage.add(code, evidence)
		t.since = at
		t.recent = append(t.recent, at)
		t.pruneRecent(at)
		t.m.up.Set(0)
		t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventOutageStart, Target: t.Name, Probe: kind, Code: code, Evidence: evidence, Side: catalog.PoolerSide(code)})
		t.w.diagnose(t, at)
	} else if t.outage.add(code, evidence) {
		start := t.outage.start
		t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventOutageCause, Target: t.Name, Probe: kind, Code: code, Evidence: evidence, Side: catalog.PoolerSide(code), OutageStart: &start})
	}
	t.checkEscalation(at)
}

// checkEscalation says once per outage, as soon as it is known, that the open outage needs escalation.
func (t *target) checkEscalation(at time.Time) {
	o := t.outage
	if o == nil || o.escalated {
		return
	}
	reasons := t.reasons(at.Sub(o.start) + o.unobserved)
	if len(reasons) == 0 {
		return
	}
	o.escalated = true
	start := o.start
	cause := o.cause()
	t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventOutageEscalate, Target: t.Name, Code: cause, OutageStart: &start,
		Note: strings.Join(reasons, "; "), Evidence: o.evidence[cause]})
}

// reasons are why an outage of this duration needs escalation, given the outages within the window.
func (t *target) reasons(d time.Duration) []string {
	var r []string
	if d > t.w.opts.EscalateAfter {
		r = append(r, fmt.Sprintf("lasted %s, more than %s", eventlog.Round(d), t.w.opts.EscalateAfter))
	}
	if n := len(t.recent); n > t.w.opts.MaxOutages {
		r = append(r, fmt.Sprintf("%d outages within %s, more than %d", n, t.w.opts.Window, t.w.opts.MaxOutages))
	}
	return r
}

func (t *target) pruneRecent(now time.Time) {
	cut := now.Add(-t.w.opts.Window)
	i := 0
	for i < len(t.recent) && t.recent[i].Before(cut) {
		i++
	}
	t.recent = slices.Delete(t.recent, 0, i)
}

// succeeded records a probe that worked; connected says it was a login (a fresh one or the held session's
// reconnection), which proves the connect path.
func (t *target) succeeded(kind string, at time.Time, d time.Duration, connected bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if kind == eventlog.ProbeSession {
		t.sessionUp = true
	}
	if connected {
		// A connection is a login, whichever loop made it: its time is a login's time, and it proves the
		// connect path works.
		t.loginFailing = false
		kind = eventlog.ProbeLogin
	} else {
		t.lastLatency = d
	}
	if !t.known {
		t.known, t.since = true, at
		t.m.up.Set(1)
	}
	t.m.duration(kind, d)
	t.lat[kindIndex(kind)].add(d)
	if at.After(t.nextLatency) {
		t.flushLatency(at)
	}
	if t.outage != nil && t.sessionUp && !t.loginFailing {
		t.endOutage(at)
	}
}

func (t *target) endOutage(at time.Time) {
	o := t.outage
	t.outage = nil
	t.since = at
	t.m.up.Set(1)
	d := at.Sub(o.start)
	cause := o.cause()
	c := catalog.Lookup(cause)
	facts := t.facts.Merge(catalog.FactsFrom(o.evidence[cause]))
	out := &eventlog.Outage{Start: o.start, End: at, DurationSeconds: d.Seconds(), Cause: cause, Category: string(c.Category),
		Codes: o.codes, Verdict: eventlog.VerdictTransient, Recent: len(t.recent), Steps: c.Steps(facts),
		UnobservedSeconds: o.unobserved.Seconds()}
	if out.Steps == nil {
		out.Steps = []string{}
	}
	if r := t.reasons(d); len(r) > 0 {
		out.Verdict, out.Reasons = eventlog.VerdictEscalate, r
	}
	t.m.outageEnded(out)
	t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventOutageEnd, Target: t.Name, Code: cause, Outage: out})
}

// flushLatency writes the latency summaries of the period that ends now.
func (t *target) flushLatency(at time.Time) {
	period := t.w.opts.LatencyEvery
	if !t.nextLatency.IsZero() {
		for i, kind := range []string{eventlog.ProbeSession, eventlog.ProbeLogin} {
			if l := t.lat[i].summary(kind, period); l != nil {
				t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventLatency, Target: t.Name, Probe: kind, Latency: l})
			}
		}
	}
	t.nextLatency = at.Add(period)
}

func kindIndex(kind string) int {
	if kind == eventlog.ProbeLogin {
		return 1
	}
	return 0
}

// observe compares new facts with the known ones and writes an event for each change; an empty field is unknown and
// changes nothing.
func (t *target) observe(at time.Time, f eventlog.ServerFacts, cert *eventlog.CertInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.server
	change := func(typ eventlog.EventType, was, now string, m func()) {
		if now == "" || now == was {
			return
		}
		if was != "" {
			ev := eventlog.Event{Time: at, Type: typ, Target: t.Name, Old: was, New: now}
			if typ == eventlog.EventCert {
				ev.Cert = cert
			}
			t.w.emit(ev)
			if m != nil {
				m()
			}
		}
	}
	change(eventlog.EventRestart, old.StartTime, f.StartTime, t.m.restarts.Inc)
	change(eventlog.EventRole, old.Role, f.Role, t.m.roleChanges.Inc)
	change(eventlog.EventAddresses, old.Addresses, f.Addresses, t.m.addressChanges.Inc)
	change(eventlog.EventCert, old.Cert, f.Cert, nil)
	for _, p := range []struct {
		dst *string
		v   string
	}{{&t.server.StartTime, f.StartTime}, {&t.server.Role, f.Role},
		{&t.server.Addresses, f.Addresses}, {&t.server.Cert, f.Cert}} {
		if p.v != "" {
			*p.dst = p.v
		}
	}
	if f.StartTime != "" {
		if s, err := strconv.ParseFloat(f.StartTime, 64); err == nil {
			t.m.serverStarted(s)
		}
	}
	if f.Role != "" {
		t.m.role(f.Role == RoleStandby)
	}
	if cert != nil {
		t.m.certExpiry(cert.NotAfter)
		if cert.NotAfter.Sub(at) < t.w.opts.CertWarning && t.certWarned != cert.Fingerprint {
			t.certWarned = cert.Fingerprint
			t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventCertExpiring, Target: t.Name, Cert: cert,
				Note: fmt.Sprintf("the server certificate expires in %s", eventlog.Round(cert.NotAfter.Sub(at)))})
		}
	}
	if !t.announced && t.server.StartTime != "" {
		t.announced = true
		s := t.server
		t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventServer, Target: t.Name, Server: &s})
	}
}

// Roles of a server.
const (
	RolePrimary = "primary"
	RoleStandby = "standby"
)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// diagnose runs probe.Run once at the start of an outage, in the background so that the retries that measure the
// outage go on meanwhile, and at most DiagnoseParallel at once; a diagnosis that could not start before the outage
// ended is dropped. Called with t.mu held.
func (w *Watcher) diagnose(t *target, start time.Time) {
	if t.diagnosing {
		return
	}
	t.diagnosing = true
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { t.mu.Lock(); t.diagnosing = false; t.mu.Unlock() }()
		select {
		case w.diagSlots <- struct{}{}:
			defer func() { <-w.diagSlots }()
		case <-w.ctx.Done():
			return
		}
		if !t.stillOpen(start) {
			return
		}
		ctx, cancel := context.WithTimeout(w.ctx, 4*probe.TimeoutFor(t.Settings))
		defer cancel()
		r := probe.Run(ctx, t.Settings, probe.Options{Resolver: w.opts.Resolver})
		if w.ctx.Err() != nil {
			return
		}
		d := r.Diagnosis
		t.mu.Lock()
		defer t.mu.Unlock()
		w.emit(eventlog.Event{Time: time.Now(), Type: eventlog.EventOutageDiagnose, Target: t.Name, Code: d.Code, Evidence: d.Evidence,
			Side: d.Side, OutageStart: &start, Diagnosis: &d})
	}()
}

func (t *target) stillOpen(start time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.outage != nil && t.outage.start.Equal(start)
}
