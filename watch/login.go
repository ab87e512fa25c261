package watch

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/probe"
)

// loginLoop logs in afresh every LoginEvery intervals, and every RetryInterval while logins fail, so that the
// connect path (firewall, credentials, TLS, connection limits) is watched while the held session carries on. While
// the held session is down its reconnections are logins already, so this loop waits.
func (t *target) loginLoop(ctx context.Context, phase time.Duration) {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	every := time.Duration(t.LoginEvery) * t.Interval
	wait := phase + every
	for sleep(ctx, tm, wait) {
		wait = every
		t.mu.Lock()
		skip := !t.sessionUp && !t.loginFailing
		t.mu.Unlock()
		addrs := t.addresses(ctx)
		if addrs != "" {
			t.mu.Lock()
			changed := t.server.Addresses != "" && t.server.Addresses != addrs
			t.mu.Unlock()
			t.observe(time.Now(), eventlog.ServerFacts{Addresses: addrs}, nil)
			if changed {
				t.refollow.Store(true)
			}
		}
		if skip {
			continue
		}
		start := time.Now()
		pg, err := t.connect(ctx, eventlog.ProbeLogin)
		end := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return // watch is stopping: not a failure of the target
			}
			code, evidence := t.classify(eventlog.ProbeLogin, err)
			t.failed(eventlog.ProbeLogin, end, code, evidence)
			wait = t.retry()
			continue
		}
		cert := certOf(pg)
		closeConn(pg)
		t.succeeded(eventlog.ProbeLogin, end, end.Sub(start), true)
		if cert != nil {
			t.observe(end, eventlog.ServerFacts{Cert: cert.Fingerprint}, cert)
		}
	}
}

// addresses resolves the target's host names, as "name: a, b; name2: c"; "" when there is nothing to resolve or a
// lookup failed (the login then says why).
func (t *target) addresses(ctx context.Context) string {
	var parts []string
	for _, h := range t.Settings.Targets {
		if h.Unix || h.HostAddr != "" {
			continue
		}
		if _, err := netip.ParseAddr(h.Host); err == nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, probe.TimeoutFor(t.Settings))
		ips, err := t.w.opts.Resolver.LookupNetIP(lctx, "ip", h.Host)
		cancel()
		if err != nil {
			return ""
		}
		s := make([]string, len(ips))
		for i, ip := range ips {
			s[i] = ip.Unmap().String()
		}
		slices.Sort(s)
		parts = append(parts, h.Host+": "+strings.Join(slices.Compact(s), ", "))
	}
	return strings.Join(parts, "; ")
}
