package probe

import (
	"errors"
	"net/netip"
	"syscall"

	"github.com/pgtriage/pgtriage/catalog"
)

// addressFamilyFailure names a host that has addresses of one family only, every one of them unreachable from
// here because this client has no route of that family: an IPv6-only server seen from an IPv4-only network (as
// Supabase's direct hosts are), or the reverse. The kernel says "network is unreachable" (ENETUNREACH) without
// sending a packet; "no route to host" is a router's or firewall's answer, not a missing family.
func addressFamilyFailure(f *failure, dials []*dialed) *failure {
	if f.stage != StageTCP || f.code != catalog.TCPUnreachable {
		return f
	}
	var v4, v6 int
	for _, d := range dials {
		if d.ep.name() != f.host || d.network != "tcp" {
			continue
		}
		if d.fail == nil || !errors.Is(d.err, syscall.ENETUNREACH) {
			return f // another address answered or failed otherwise: not a matter of family
		}
		if a, err := netip.ParseAddr(d.ip()); err == nil && a.Is4() {
			v4++
		} else {
			v6++
		}
	}
	g := *f
	switch {
	case v6 > 0 && v4 == 0:
		g.code = catalog.NetIPv6OnlyServer
		g.evidence = f.host + " has IPv6 addresses only, and this client has no route to IPv6: " + f.evidence
	case v4 > 0 && v6 == 0:
		g.code = catalog.NetIPv4OnlyServer
		g.evidence = f.host + " has IPv4 addresses only, and this client has no route to IPv4: " + f.evidence
	default:
		return f
	}
	return &g
}
