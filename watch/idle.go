package watch

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/probe"
)

// idleLoop keeps one more session idle for IdleProbe at a time, with TCP keepalives off, and sends one query after
// each idle spell: a load balancer, NAT gateway or firewall that forgets idle connections cuts this session while
// the held one, never idle, carries on. A failing login is the login loop's to report: this loop tries again
// after the next idle spell.
func (t *target) idleLoop(ctx context.Context) {
	cfg := t.cfg[kindIndex(eventlog.ProbeLogin)].Copy()
	cfg.DialFunc = (&net.Dialer{KeepAlive: -1}).DialContext // keepalives would keep the middle box's state alive
	every := t.w.opts.IdleProbe
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, probe.TimeoutFor(t.Settings))
		pg, err := pgconn.ConnectConfig(cctx, cfg)
		cancel()
		if err != nil {
			if !sleep(ctx, tm, every) {
				return
			}
			continue
		}
		last := time.Now()
		for sleep(ctx, tm, every) {
			qctx, cancel := context.WithTimeout(ctx, probe.TimeoutFor(t.Settings))
			sent := time.Now()
			_, err := pg.Exec(qctx, "SELECT 1").ReadAll()
			timedOut := qctx.Err() != nil
			cancel()
			if err == nil {
				last = time.Now()
				continue
			}
			if ctx.Err() == nil {
				kind := probe.CutReset
				if timedOut {
					kind = probe.CutSilent
				}
				t.idleCut(time.Now(), kind, sent.Sub(last), err)
			}
			break
		}
		closeConn(pg)
	}
}

// idleCut records a cut of the idle session, unless the target is down: then the outage explains it.
func (t *target) idleCut(at time.Time, kind string, idle time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down() {
		return
	}
	t.m.vecs.idleCuts.WithLabelValues(t.Name, kind).Inc()
	t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventIdleCut, Target: t.Name, Code: catalog.NetIdleCut, Note: kind,
		Evidence: fmt.Sprintf("a session idle for %s %s while the target was up: %v", eventlog.Round(idle), map[string]string{
			probe.CutSilent: "got no answer", probe.CutReset: "was reset"}[kind], err)})
}
