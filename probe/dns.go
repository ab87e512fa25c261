package probe

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/settings"
)

// endpoint is one host of the host list with the addresses it resolved to.
type endpoint struct {
	index  int // in settings.Targets
	target settings.Target
	addrs  []netip.Addr
	stage  Stage
	fail   *failure
}

// name is the host the user wrote: the name that TLS verification and the pgpass lookup use.
func (e *endpoint) name() string {
	if e.target.Host != "" {
		return e.target.Host
	}
	return e.target.HostAddr
}

// resolve looks up A and AAAA records of every host at once. Hosts given as addresses, hostaddr and unix sockets
// need no lookup.
func resolve(ctx context.Context, resolver *net.Resolver, targets []settings.Target, timeout time.Duration, tr *tracer) []*endpoint {
	eps := make([]*endpoint, len(targets))
	done := make(chan struct{}, len(targets))
	for i, t := range targets {
		ep := &endpoint{index: i, target: t, stage: Stage{Name: StageDNS, Address: t.Host}}
		eps[i] = ep
		go func() {
			defer func() { done <- struct{}{} }()
			lookup(ctx, resolver, ep, timeout, tr)
		}()
	}
	for range targets {
		<-done
	}
	return eps
}

func lookup(ctx context.Context, resolver *net.Resolver, ep *endpoint, timeout time.Duration, tr *tracer) {
	t := ep.target
	switch {
	case t.Unix:
		ep.stage.Status, ep.stage.Detail = StageSkip, "unix-domain socket: no lookup"
		return
	case t.HostAddr != "":
		if a, err := netip.ParseAddr(t.HostAddr); err == nil {
			ep.addrs = []netip.Addr{a.Unmap()}
			ep.stage.Status, ep.stage.Detail = StageSkip, "hostaddr "+t.HostAddr+" given: no lookup"
			return
		}
	}
	if a, err := netip.ParseAddr(t.Host); err == nil {
		ep.addrs = []netip.Addr{a.Unmap()}
		ep.stage.Status, ep.stage.Detail = StageSkip, "an address: no lookup"
		return
	}
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr.event("-", "DNS lookup of %s", t.Host)
	addrs, err := resolver.LookupNetIP(lctx, "ip", t.Host)
	ep.stage.DurationMS = ms(time.Since(start))
	if err != nil {
		ep.stage.Status, ep.stage.Detail = StageFail, err.Error()
		ep.fail = networkFailure(StageDNS, err, false)
		ep.fail.host = t.Host
		tr.event("-", "DNS lookup of %s failed: %v", t.Host, err)
		return
	}
	var v4, v6 []string
	for _, a := range addrs {
		a = a.Unmap()
		ep.addrs = append(ep.addrs, a)
		if a.Is4() {
			v4 = append(v4, a.String())
		} else {
			v6 = append(v6, a.String())
		}
	}
	ep.stage.Status = StageOK
	ep.stage.Detail = "A " + listOrNone(v4) + "; AAAA " + listOrNone(v6)
	tr.event("-", "DNS %s: %s", t.Host, ep.stage.Detail)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
