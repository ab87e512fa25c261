package watch

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/probe"
	"github.com/pgtriage/pgtriage/token"
)

// loginLoop logs in afresh every LoginEvery intervals, and every RetryInterval while logins fail, so that the
// connect path (firewall, credentials, TLS, connection limits) is watched while the held session carries on. While
// the held session is down its reconnections are logins already, so this loop waits.
func (t *target) loginLoop(ctx context.Context, phase time.Duration) {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	every := time.Duration(t.LoginEvery) * t.Interval
	wait := phase + every
	t.tokenWarning(time.Now())
	for sleep(ctx, tm, wait) {
		wait = every
		t.tokenWarning(time.Now())
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

// tokenWarning emits token_expiring once when the password is an access token that expires within token.Soon
// or has expired: the held session carries on, but the next login, the application's too, will be refused.
func (t *target) tokenWarning(at time.Time) {
	if len(t.Settings.Targets) == 0 {
		return
	}
	info, ok := token.Inspect(t.Settings.TargetConfig(0).Password)
	if !ok || info.Expires.IsZero() || info.Expires.Sub(at) >= token.Soon {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tokenWarned {
		return
	}
	t.tokenWarned = true
	note := fmt.Sprintf("the password is a %s token that expires at %s", info.Kind, info.Expires.Format(time.RFC3339))
	if !at.Before(info.Expires) {
		note = fmt.Sprintf("the password is a %s token that expired at %s", info.Kind, info.Expires.Format(time.RFC3339))
	}
	t.w.emit(eventlog.Event{Time: at, Type: eventlog.EventTokenExpiring, Target: t.Name, Code: catalog.AuthTokenExpiring, Note: note})
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
