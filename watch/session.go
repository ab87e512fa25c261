package watch

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/wirelimit"
	"github.com/pgtriage/pgtriage/probe"
	"github.com/pgtriage/pgtriage/settings"
)

// configs builds the pgconn configurations of a target's connections once, not for every login: the settings'
// own, asking the Watcher's resolver. The held session's also keeps the last notice the server sent, which
// classify asks the catalog about: at an immediate shutdown the server sends "terminating connection
// due to immediate shutdown command" as a WARNING and closes the socket, so the read only sees the end of the
// stream. What a server sends passes wirelimit's limits, so that a hostile one costs no memory; and a successful
// dial is noted, so that classify tells a server that never finishes its startup from packets that go unanswered.
func (t *target) configs() {
	login := t.Settings.Config.Copy()
	if r := t.w.opts.Resolver; r != nil {
		login.LookupFunc = lookupWith(r, t.Settings.Targets)
	}
	login.BuildFrontend = wirelimit.Frontend
	session := login.Copy()
	session.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { t.notice.Store(n) }
	t.cfg = [2]*pgconn.Config{session, login}
	for i, cfg := range t.cfg {
		dial := cfg.DialFunc
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err == nil {
				t.dialed[i].Store(true)
			}
			return c, err
		}
	}
}

// lookupWith resolves host names with r, and dials hostaddr where the settings give one, as libpq does.
func lookupWith(r *net.Resolver, targets []settings.Target) pgconn.LookupFunc {
	return func(ctx context.Context, host string) ([]string, error) {
		for _, t := range targets {
			if t.Host == host && t.HostAddr != "" {
				return []string{t.HostAddr}, nil
			}
		}
		return r.LookupHost(ctx, host)
	}
}

// connect opens a connection within the target's connect timeout.
func (t *target) connect(ctx context.Context, kind string) (*pgconn.PgConn, error) {
	if kind == eventlog.ProbeSession {
		t.notice.Store(nil)
	}
	t.dialed[kindIndex(kind)].Store(false)
	ctx, cancel := context.WithTimeout(ctx, probe.TimeoutFor(t.Settings))
	defer cancel()
	return pgconn.ConnectConfig(ctx, t.cfg[kindIndex(kind)])
}

// closeConn ends a connection politely (a Terminate message), within a second.
func closeConn(pg *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = pg.Close(ctx)
}

// classify names the cause of a failure: the catalog's code for the error, or, when the held session's stream just
// ended after the server had warned why, the code of the warning.
func (t *target) classify(kind string, err error) (catalog.Code, string) {
	code := catalog.ClassifyError(err).Code
	if code == catalog.TCPTimeout && t.dialed[kindIndex(kind)].Load() {
		// The TCP connection opened: the time ran out waiting for the server, not for the network (as probe says).
		code = catalog.ServerUnresponsive
	}
	if kind == eventlog.ProbeSession && code == catalog.ConnReset {
		// The catalog decides whether the warning explains the end: a 57P01 at an immediate shutdown does.
		if n := t.notice.Load(); n != nil {
			if c := catalog.Classify(catalog.Message{SQLState: n.Code, Text: n.Message}); c.Code != catalog.Unknown {
				return c.Code, n.Severity + ": " + n.Message + " (SQLSTATE " + n.Code + "), then the connection closed"
			}
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server's own words say it all; pgconn's wrapping adds every attempt before it (sslmode=prefer
		// tries TLS first).
		return code, pgErr.Severity + ": " + pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	}
	return code, oneLine(err.Error())
}

// factsQuery reads what is compared from one connection to the next: when the server started, and whether it is a
// standby.
const factsQuery = "SELECT extract(epoch FROM pg_postmaster_start_time())::numeric(20,6)::text, pg_is_in_recovery()"

// serverFacts reads the server's facts on a new connection, and its certificate.
func (t *target) serverFacts(pg *pgconn.PgConn) (eventlog.ServerFacts, *eventlog.CertInfo, error) {
	var f eventlog.ServerFacts
	nc := pg.Conn()
	_ = nc.SetDeadline(time.Now().Add(probe.TimeoutFor(t.Settings)))
	defer nc.SetDeadline(time.Time{})
	res, err := pg.Exec(context.Background(), factsQuery).ReadAll()
	if err != nil {
		return f, nil, err
	}
	if len(res) == 1 && len(res[0].Rows) == 1 {
		row := res[0].Rows[0]
		f.StartTime = string(row[0])
		f.Role = RolePrimary
		if string(row[1]) == "t" {
			f.Role = RoleStandby
		}
	}
	cert := certOf(pg)
	if cert != nil {
		f.Cert = cert.Fingerprint
	}
	return f, cert, nil
}

// certOf describes the server certificate of a TLS connection; nil without TLS.
func certOf(pg *pgconn.PgConn) *eventlog.CertInfo {
	tc, ok := pg.Conn().(*tls.Conn)
	if !ok {
		return nil
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil
	}
	leaf := certs[0]
	sum := sha256.Sum256(leaf.Raw)
	return &eventlog.CertInfo{Fingerprint: hex.EncodeToString(sum[:]), Subject: leaf.Subject.String(), NotAfter: leaf.NotAfter.UTC()}
}

// errFollowDNS ends a held session because the host's addresses changed: the next one reaches what the name points
// at now, as a reconnecting application would.
var errFollowDNS = errors.New("the host's addresses changed")

// sessionLoop keeps a session open, probing it every interval, and reconnects every RetryInterval while it cannot.
func (t *target) sessionLoop(ctx context.Context, phase time.Duration) {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	if !sleep(ctx, tm, phase%t.w.opts.RetryInterval) {
		return
	}
	for ctx.Err() == nil {
		start := time.Now()
		pg, err := t.connect(ctx, eventlog.ProbeSession)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			code, evidence := t.classify(eventlog.ProbeSession, err)
			t.failed(eventlog.ProbeSession, time.Now(), code, evidence)
			if !sleep(ctx, tm, t.retry()) {
				return
			}
			continue
		}
		connected := time.Now()
		facts, cert, err := t.serverFacts(pg)
		if err == nil {
			facts.Addresses = t.addresses(ctx)
			t.succeeded(eventlog.ProbeSession, connected, connected.Sub(start), true)
			t.observe(connected, facts, cert)
			err = t.hold(ctx, pg)
		}
		closeConn(pg)
		if ctx.Err() != nil {
			return
		}
		if err != errFollowDNS {
			code, evidence := t.classify(eventlog.ProbeSession, err)
			t.failed(eventlog.ProbeSession, time.Now(), code, evidence)
		}
	}
}

func (t *target) retry() time.Duration { return min(t.w.opts.RetryInterval, t.Interval) }

// hold probes an open session every interval until it fails or ctx is done. In between, a read is always pending
// (WaitForNotification with a read deadline at the next probe), so the moment the server ends the session, or the
// socket closes, the read returns. Neither the wait nor the probe allocates a context or a timer: deadlines are set on
// the connection itself, and a stopper set once per session moves them to the past when ctx is done.
func (t *target) hold(ctx context.Context, pg *pgconn.PgConn) error {
	nc := pg.Conn()
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	timeout := probe.TimeoutFor(t.Settings)
	next := slot(time.Now().Add(t.Interval))
	for {
		_ = nc.SetReadDeadline(next)
		if ctx.Err() != nil {
			return nil
		}
		if t.refollow.CompareAndSwap(true, false) {
			return errFollowDNS
		}
		err := pg.WaitForNotification(context.Background())
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			continue // a notification: nobody listens, but it does no harm
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		// The write deadline set here stays in the past while the next wait's read deadline is set over the
		// read side: nothing is written before the next probe sets both again.
		start := time.Now()
		_ = nc.SetDeadline(start.Add(timeout))
		err = emptyQuery(pg)
		end := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		t.succeeded(eventlog.ProbeSession, end, end.Sub(start), false)
		if hs := pg.ParameterStatus("in_hot_standby"); hs != "" {
			t.observeRole(end, hs == "on")
		}
		if next = next.Add(t.Interval); next.Before(end) {
			next = slot(end.Add(t.Interval))
		}
	}
}

// probeSlot groups the probes of many targets: their deadlines fall on the same few instants, so the runtime wakes
// once for a group of them instead of once for each, which costs a thousand targets less CPU than the probes
// themselves. A probe is late by less than a slot.
const probeSlot = 20 * time.Millisecond

func slot(t time.Time) time.Time {
	if r := t.Truncate(probeSlot); r.Before(t) {
		return r.Add(probeSlot)
	}
	return t
}

// emptyQuery sends ";" with the simple protocol: the server parses nothing, runs nothing and answers
// EmptyQueryResponse, ReadyForQuery. pgconn reuses its result reader, so this allocates next to nothing.
func emptyQuery(pg *pgconn.PgConn) error {
	mrr := pg.Exec(context.Background(), ";")
	for mrr.NextResult() {
		_, _ = mrr.ResultReader().Close()
	}
	return mrr.Close()
}

// observeRole notes the server's role from in_hot_standby, which PostgreSQL 14 and later report to open sessions when
// a standby is promoted.
func (t *target) observeRole(at time.Time, standby bool) {
	role := RolePrimary
	if standby {
		role = RoleStandby
	}
	t.mu.Lock()
	same := t.server.Role == role
	t.mu.Unlock()
	if !same {
		t.observe(at, eventlog.ServerFacts{Role: role}, nil)
	}
}

// oneLine joins the lines of pgconn's error for several attempts (one per host, address and TLS mode) into one,
// each distinct line once, so that an event stays one readable line.
func oneLine(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(parts, l) {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}
