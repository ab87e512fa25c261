package firewall

import (
	"fmt"
	"net/netip"
)

// Admission is what the firewall does with one client address: whether it admits it, and by which rules.
type Admission struct {
	Address netip.Addr // the client address as evaluated: IPv4-mapped IPv6 is unmapped
	Allowed bool
	Matches []Rule   // every rule that admits Address, in input order; the first is the one that admits it first
	Notes   []string // facts that change how to read it, e.g. that Azure takes no IPv6 rules
}

// Check evaluates the rules against a client address: the address the server sees, which for a client behind NAT
// is the public address (the one in "no pg_hba.conf entry for host ..."). The Azure "allow Azure services" rule
// (0.0.0.0-0.0.0.0) admits by origin, not by address, so it never matches here; a note says what it may admit.
func (rs *RuleSet) Check(addr netip.Addr) Admission {
	v := Admission{Address: addr.Unmap()}
	var azureServices *Rule
	for i, r := range rs.Rules {
		if r.AzureServices() {
			if azureServices == nil {
				azureServices = &rs.Rules[i]
			}
			continue
		}
		if r.Contains(v.Address) {
			v.Matches = append(v.Matches, r)
		}
	}
	v.Allowed = len(v.Matches) > 0

	azure := rs.Format == FormatAzureCLI || rs.Format == FormatARM
	switch {
	case v.Address.Is6() && azure:
		v.Notes = append(v.Notes, "Azure Database for PostgreSQL firewall rules take IPv4 addresses only, so no rule "+
			"can admit an IPv6 client: connect over IPv4 and allow the public IPv4 address the server sees")
	case v.Address.IsPrivate() || v.Address.IsLoopback() || v.Address.IsLinkLocalUnicast():
		v.Notes = append(v.Notes, fmt.Sprintf("%s is a private address: a server reached over the internet sees "+
			"the public address of your NAT gateway or proxy instead (the one in \"no pg_hba.conf entry for host\")", v.Address))
	}
	if !v.Allowed && azureServices != nil {
		v.Notes = append(v.Notes, fmt.Sprintf("rule %q (0.0.0.0) admits connections from any Azure service: a "+
			"client running in Azure may get in through it whatever its address", azureServices.Name))
	}
	return v
}
