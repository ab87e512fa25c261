package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/settings"
)

// IdleOptions shape the idle-cut finder. The zero value finds cuts up to 15 minutes with 12 sessions.
type IdleOptions struct {
	// Max is the longest idle time tested (default 15 minutes): a path that keeps a connection that long is
	// reported as keeping it.
	Max time.Duration
	// Min is the first idle time tested (default 1 s).
	Min time.Duration
	// Ratio is the factor between successive idle times tested (default 1.15): the precision of the figure.
	Ratio float64
	// Sessions is how many sessions idle at once (default 12).
	Sessions int
	// Progress, when set, is told about each probe as it happens.
	Progress func(IdleProbe)
}

func (o *IdleOptions) defaults() {
	if o.Max <= 0 {
		o.Max = 15 * time.Minute
	}
	if o.Min <= 0 {
		o.Min = time.Second
	}
	if o.Ratio <= 1 {
		o.Ratio = 1.15
	}
	if o.Sessions <= 0 {
		o.Sessions = 12
	}
}

// Idle cut kinds: what the next query on a cut connection met.
const (
	CutNone   = "none"   // every idle time up to Max was survived
	CutSilent = "silent" // no answer: the middle box drops the packets of a connection it forgot
	CutReset  = "reset"  // a TCP reset: the middle box (or the server's kernel) no longer knows the connection
	CutServer = "server" // the server ended the session itself (idle_session_timeout, a pooler's idle timeout)
)

// IdleProbe is one query sent on a session after it sat idle.
type IdleProbe struct {
	Session     int     `json:"session"`
	IdleSeconds float64 `json:"idle_seconds"`
	Outcome     string  `json:"outcome"` // "ok", or a Cut* kind
	Detail      string  `json:"detail,omitempty"`
}

// IdleReport is the result of the idle-cut finder.
type IdleReport struct {
	Target string `json:"target"`
	// Kind is CutNone, CutSilent, CutReset or CutServer.
	Kind string `json:"kind"`
	// SurvivedSeconds is the longest idle time a session survived; CutSeconds the shortest it did not (0 with
	// CutNone). The cut lies between them, and FigureSeconds is their middle.
	SurvivedSeconds float64 `json:"survived_seconds"`
	CutSeconds      float64 `json:"cut_seconds,omitempty"`
	FigureSeconds   float64 `json:"figure_seconds,omitempty"`
	ElapsedSeconds  float64 `json:"elapsed_seconds"`
	// MiddleBoxes are the known devices whose default idle timeout matches the figure.
	MiddleBoxes []string           `json:"middle_boxes,omitempty"`
	Diagnosis   *catalog.Diagnosis `json:"diagnosis,omitempty"`
	Probes      []IdleProbe        `json:"probes"`
	// Error is why the finder could not run (the first login failed: run check).
	Error string `json:"error,omitempty"`
}

// idleSession is one session of the finder and when it was last active.
type idleSession struct {
	id   int
	pg   *pgconn.PgConn
	last time.Time
	rtt  time.Duration
}

// FindIdleCut finds the longest time a connection on this path may sit idle before something on the path (a load
// balancer, NAT gateway or firewall) forgets it, with several sessions idling at once so that it takes little
// longer than the cut itself.
//
// The search: every session logs in at the start, with TCP keepalives off (they would keep the middle box's
// state alive), and idles. The idle times tested grow geometrically, Min, Min*Ratio, Min*Ratio², ...: each is
// tested on the session that has been idle longest, as soon as its idle time reaches it, by one query. A session
// that answers has survived that idle time and idles afresh from then, for a later, longer test. The first
// session that does not answer (or is reset) ends the search: the cut lies between the longest idle survived and
// this one, which differ by the factor Ratio, so the figure (their middle) is within (Ratio-1)/2 of the cut
// (±7.5% by default), and the search ends after about Ratio times the cut (plus one answer deadline for a silent
// cut). Since a session can be tested again once the idle time to test exceeds the time it was last active,
// 12 sessions are enough for any cut at the default ratio; with fewer, tests wait for a session and take longer.
func FindIdleCut(ctx context.Context, s *settings.Settings, opts IdleOptions) *IdleReport {
	opts.defaults()
	start := time.Now()
	r := &IdleReport{Target: s.Target(), Kind: CutNone, Probes: []IdleProbe{}}
	defer func() { r.ElapsedSeconds = round3(time.Since(start).Seconds()) }()
	sessions, err := openIdleSessions(ctx, s, opts.Sessions)
	defer func() {
		for _, ss := range sessions {
			closeIdle(ss.pg)
		}
	}()
	if err != nil {
		r.Error = "could not log in: " + err.Error() + " (run `pgtriage check` with the same settings)"
		return r
	}
	answerDeadline := TimeoutFor(s)
	var survived, cut time.Duration
	want := opts.Min
	for {
		ss := slices.MinFunc(sessions, func(a, b *idleSession) int { return a.last.Compare(b.last) })
		if !sleepCtx(ctx, time.Until(ss.last.Add(want))) {
			r.Error = "stopped: " + ctx.Err().Error()
			break
		}
		// The deadline for the answer grows with the round trip seen at login, so that a loaded path is not
		// taken for a silent cut.
		deadline := min(answerDeadline, max(time.Second, 20*ss.rtt))
		idle, kind, detail := ss.probe(ctx, deadline)
		p := IdleProbe{Session: ss.id, IdleSeconds: round3(idle.Seconds()), Outcome: "ok", Detail: detail}
		if kind != "" {
			p.Outcome = kind
		}
		r.Probes = append(r.Probes, p)
		if opts.Progress != nil {
			opts.Progress(p)
		}
		if kind == "" {
			survived = idle
			if idle >= opts.Max {
				break
			}
			want = min(opts.Max, time.Duration(float64(max(idle, want))*opts.Ratio))
			continue
		}
		if ctx.Err() != nil {
			r.Error = "stopped: " + ctx.Err().Error()
			break
		}
		r.Kind, cut = kind, idle
		break
	}
	r.SurvivedSeconds = round3(survived.Seconds())
	if cut > 0 {
		figure := (survived + cut) / 2
		r.CutSeconds, r.FigureSeconds = round3(cut.Seconds()), round3(figure.Seconds())
		code := catalog.NetIdleCut
		if r.Kind == CutServer {
			// The server (or a pooler in front of it) ended the idle session and said why.
			last := r.Probes[len(r.Probes)-1]
			code = catalog.Classify(catalog.Message{Text: last.Detail}).Code
		} else {
			for _, m := range catalog.LikelyMiddleBoxes(figure) {
				r.MiddleBoxes = append(r.MiddleBoxes, m.Name)
			}
		}
		d := diagnose(catalog.Lookup(code), nil, idleFacts(figure, r.Kind, s))
		d.Evidence = fmt.Sprintf("a session idle for %.1f s answered; one idle for %.1f s %s", survived.Seconds(), cut.Seconds(), effect(r.Kind))
		r.Diagnosis = &d
	}
	return r
}

// idleFacts are the keepalive settings that stay under the cut: the first keepalive at half the cut, then every
// tenth, so that even a lost keepalive is followed by another before the cut; a
// pool closes idle connections at the same time.
func idleFacts(cut time.Duration, kind string, s *settings.Settings) catalog.Facts {
	secs := cut.Seconds()
	idle := math.Max(1, math.Floor(secs/2))
	interval := math.Max(1, math.Floor(secs/10))
	f := catalog.Facts{
		catalog.FactIdleCut:            fmt.Sprintf("%.0f s", secs),
		catalog.FactIdleCutEffect:      effect(kind),
		catalog.FactKeepalivesIdle:     strconv.Itoa(int(idle)),
		catalog.FactKeepalivesInterval: strconv.Itoa(int(interval)),
		catalog.FactPoolMaxIdle:        (time.Duration(idle) * time.Second).String(),
	}
	if secs < 10 {
		f[catalog.FactIdleCut] = fmt.Sprintf("%.1f s", secs)
	}
	if len(s.Targets) > 0 {
		f = f.ForHost(s.Targets[0].Host)
	}
	return f
}

func effect(kind string) string {
	switch kind {
	case CutSilent:
		return "got no answer (dropped silently)"
	case CutReset:
		return "was reset"
	case CutServer:
		return "was ended by the server"
	}
	return "answered"
}

// openIdleSessions logs n sessions in at once, each with the settings' deadline and keepalives off.
func openIdleSessions(ctx context.Context, s *settings.Settings, n int) ([]*idleSession, error) {
	cfg := s.Config.Copy()
	cfg.ConnectTimeout = TimeoutFor(s)
	dialer := &net.Dialer{KeepAlive: -1} // keepalives would keep the middle box's state alive
	cfg.DialFunc = dialer.DialContext
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "pgtriage idle-cut"
	}
	out := make([]*idleSession, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pg, err := pgconn.ConnectConfig(ctx, cfg)
			if err != nil {
				errs[i] = err
				return
			}
			ss := &idleSession{id: i + 1, pg: pg}
			// One round trip: its time sets the answer deadline, and it makes every session's last activity a
			// query, as the probes are.
			qctx, cancel := context.WithTimeout(ctx, TimeoutFor(s))
			t0 := time.Now()
			_, err = pg.Exec(qctx, "SELECT 1").ReadAll()
			cancel()
			ackNow(pg.Conn())
			ss.rtt, ss.last = time.Since(t0), time.Now()
			if err != nil {
				closeIdle(pg)
				errs[i] = err
				return
			}
			out[i] = ss
		}()
	}
	wg.Wait()
	var ok []*idleSession
	for _, ss := range out {
		if ss != nil {
			ok = append(ok, ss)
		}
	}
	if len(ok) == 0 {
		return nil, errors.Join(errs...)
	}
	return ok, nil
}

// probe sends one query on a session that sat idle, and returns how long it had been idle and, when it did not
// answer, how it failed.
func (ss *idleSession) probe(ctx context.Context, deadline time.Duration) (time.Duration, string, string) {
	sent := time.Now()
	idle := sent.Sub(ss.last)
	qctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	_, err := ss.pg.Exec(qctx, "SELECT 1").ReadAll()
	if err == nil {
		ackNow(ss.pg.Conn())
		ss.last = time.Now()
		return idle, "", ""
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		return idle, CutServer, fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	case qctx.Err() != nil || isTimeout(err):
		return idle, CutSilent, fmt.Sprintf("no answer within %s", deadline)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return idle, CutServer, "the connection was closed: " + err.Error()
	}
	return idle, CutReset, "the connection was reset: " + err.Error()
}

// WriteText writes the finder's result for people: each probe, the figure next to the idle times that bound it,
// the likely middle box, and the keepalive settings that stay under the cut.
func (r *IdleReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pgtriage idle-cut %s\n\n", r.Target)
	if len(r.Probes) > 0 {
		b.WriteString("  session  idle      outcome\n")
	}
	for _, p := range r.Probes {
		line := p.Outcome
		if p.Detail != "" {
			line += ": " + p.Detail
		}
		fmt.Fprintf(&b, "  %7d  %7.3fs  %s\n", p.Session, p.IdleSeconds, line)
	}
	switch {
	case r.Error != "":
		fmt.Fprintf(&b, "\nNo figure: %s\n", r.Error)
	case r.Kind == CutNone:
		fmt.Fprintf(&b, "\nNo idle cut: a session idle for %.1f s still answered (the longest tested). Took %.1f s.\n", r.SurvivedSeconds, r.ElapsedSeconds)
	default:
		fmt.Fprintf(&b, "\nIdle cut: %.3f s (%s): survived %.3f s, cut by %.3f s; found in %.1f s (%.2f times the figure)\n",
			r.FigureSeconds, r.Kind, r.SurvivedSeconds, r.CutSeconds, r.ElapsedSeconds, r.ElapsedSeconds/r.FigureSeconds)
		if len(r.MiddleBoxes) > 0 {
			fmt.Fprintf(&b, "Likely: %s\n", strings.Join(r.MiddleBoxes, "; or "))
		} else if r.Kind != CutServer {
			b.WriteString("Likely: no known default matches this figure: a firewall, NAT or load balancer with a timeout set by hand\n")
		}
	}
	if d := r.Diagnosis; d != nil {
		fmt.Fprintf(&b, "\nVerdict: %s (%s)\n  %s\n  Evidence: %s\n\nNext steps:\n", d.Code, d.Category, d.Summary, d.Evidence)
		for i, s := range d.Steps {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func closeIdle(pg *pgconn.PgConn) {
	if pg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = pg.Close(ctx)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
