package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/settings"
)

// endpoint is one host of the host list with the addresses it resolved to.
type endpoint struct {
	index  int // in settings.Targets
	target settings.Target
	addrs  []netip.Addr
	stage  Stage
	fail   *failure
	// chain is the CNAME chain from the host to the name that has the addresses, when the resolver showed it.
	chain []string
	// private is what the names and addresses say about a private endpoint, when they say something.
	private *privateNote
}

// privateNote is a managed service's private endpoint seen from the wrong side: a private-link name that
// resolved to a public address, or a service's public name that resolved to a private one.
type privateNote struct {
	code  catalog.Code
	facts catalog.Facts
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
	if !allLoopback(ep.addrs) { // localhost and hosts-file names: no DNS server knows them
		ep.chain = cnameChain(lctx, resolver, t.Host)
	}
	if len(ep.chain) > 0 {
		ep.stage.Detail = "CNAME " + strings.Join(append([]string{t.Host}, ep.chain...), " → ") + "; " + ep.stage.Detail
	}
	if ep.private = privateEndpoint(t.Host, ep.chain, ep.addrs); ep.private != nil {
		ep.stage.Status = StageWarn
		ep.stage.Detail += "; " + catalog.Lookup(ep.private.code).SummaryFor(ep.private.facts)
	}
	tr.event("-", "DNS %s: %s", t.Host, ep.stage.Detail)
}

func allLoopback(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if !a.IsLoopback() {
			return false
		}
	}
	return true
}

// maxChain bounds the CNAME chain followed; resolvers give up on longer ones too.
const maxChain = 16

// cnameChain returns the CNAME chain from host, without host, as the resolver's server answers an A query (an
// AAAA query when the A answer is empty): Go's resolver follows the chain without showing it. It asks the server
// the resolver dials (tests) or the first of /etc/resolv.conf; nil when there is no such server or no answer, as
// on Windows, since the chain only explains and the addresses are already known.
func cnameChain(ctx context.Context, resolver *net.Resolver, host string) []string {
	server := ""
	if cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cfg.Servers) > 0 {
		server = net.JoinHostPort(cfg.Servers[0], cfg.Port)
	}
	dial := resolver.Dial
	if dial == nil {
		if server == "" {
			return nil
		}
		var d net.Dialer
		dial = d.DialContext
	}
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		answer, err := askDNS(ctx, dial, server, host, qtype)
		if err != nil {
			return nil
		}
		chain, addresses := followChain(host, answer)
		if len(chain) > 0 || addresses {
			return chain
		}
	}
	return nil
}

func askDNS(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), server, host string, qtype uint16) ([]dns.RR, error) {
	conn, err := dial(ctx, "udp", server)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	q := new(dns.Msg).SetQuestion(dns.Fqdn(host), qtype)
	c := &dns.Conn{Conn: conn}
	if err := c.WriteMsg(q); err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	for {
		r, err := c.ReadMsg()
		if err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		if r.Id == q.Id { // a late answer to another query on a reused port is not ours
			return r.Answer, nil
		}
	}
}

// followChain follows the CNAME records of an answer from host, whatever their order, and says whether the
// answer holds addresses too.
func followChain(host string, answer []dns.RR) ([]string, bool) {
	targets := map[string]string{}
	addresses := false
	for _, rr := range answer {
		switch rr := rr.(type) {
		case *dns.CNAME:
			targets[strings.ToLower(rr.Hdr.Name)] = rr.Target
		case *dns.A, *dns.AAAA:
			addresses = true
		}
	}
	var chain []string
	name := strings.ToLower(dns.Fqdn(host))
	for len(chain) < maxChain && targets[name] != "" {
		next := targets[name]
		chain = append(chain, strings.TrimSuffix(next, "."))
		name = strings.ToLower(next)
	}
	return chain, addresses
}

// privateEndpoint reads the names (host and its CNAME chain) and addresses for a managed service's private
// endpoint seen from the wrong side: a name of a private-endpoint zone that resolved to a public address (the
// zone is not linked to this network), or a managed service's public name that resolved only to private addresses
// (a VPC-only server, seen from elsewhere). Loopback addresses are a tunnel or a hosts-file entry: nothing to say.
func privateEndpoint(host string, chain []string, addrs []netip.Addr) *privateNote {
	var public, private []netip.Addr
	for _, a := range addrs {
		switch {
		case a.IsLoopback():
		case catalog.IsPrivateAddress(a):
			private = append(private, a)
		default:
			public = append(public, a)
		}
	}
	for _, name := range append([]string{host}, chain...) {
		if _, zone, ok := catalog.PrivateZone(name); ok {
			if len(public) == 0 {
				return nil
			}
			return &privateNote{code: catalog.DNSPrivateZoneNotLinked, facts: catalog.Facts{catalog.FactPrivateName: name,
				catalog.FactPrivateZone: zone, catalog.FactAddress: public[0].String()}.ForHost(host)}
		}
	}
	if len(private) > 0 && len(public) == 0 && catalog.ProviderOf(host) != catalog.Generic {
		return &privateNote{code: catalog.DNSPrivateAddress, facts: catalog.Facts{catalog.FactAddress: private[0].String()}.ForHost(host)}
	}
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
