package firewall

import (
	"fmt"
	"math/big"
)

// Severity says how much a risky rule exposes.
type Severity string

const (
	SeverityCritical Severity = "critical" // the server is open to everyone
	SeverityWarning  Severity = "warning"  // far more is admitted than is likely meant
)

// Risk is a rule that admits more than a firewall should, and why.
type Risk struct {
	Rule     Rule
	Severity Severity
	Reason   string
}

// Wider than these many addresses is worth a warning: a /8 of IPv4, and for IPv6 a /32, a whole ISP's allocation
// (a /8 of IPv6 would flag nothing anyone writes by hand).
var (
	wideIPv4 = new(big.Int).Lsh(big.NewInt(1), 32-8)
	wideIPv6 = new(big.Int).Lsh(big.NewInt(1), 128-32)
)

// Risks names the rules that open the server more than they likely should, in input order.
func (rs *RuleSet) Risks() []Risk {
	var risks []Risk
	for _, r := range rs.Rules {
		switch {
		case r.AzureServices():
			risks = append(risks, Risk{r, SeverityWarning, "this is Azure's \"Allow public access from any Azure " +
				"service within Azure to this server\": it admits connections from every Azure service, including " +
				"other customers' subscriptions; allow your services' outbound addresses instead"})
		case r.everything():
			family := "IPv4"
			if r.Start.Is6() {
				family = "IPv6"
			}
			risks = append(risks, Risk{r, SeverityCritical, fmt.Sprintf("admits every %s address: anyone on the "+
				"internet can reach the server, and only the password stands in the way", family)})
		default:
			limit, widest := wideIPv4, "/8"
			if r.Start.Is6() {
				limit, widest = wideIPv6, "/32"
			}
			if n := r.size(); n.Cmp(limit) > 0 {
				risks = append(risks, Risk{r, SeverityWarning, fmt.Sprintf("admits %s addresses, more than a %s: "+
					"is that meant?", count(n), widest)})
			}
		}
	}
	return risks
}

// count writes a number of addresses for people: exact while it reads easily, else as a power of two.
func count(n *big.Int) string {
	if n.BitLen() <= 40 {
		return n.String()
	}
	return fmt.Sprintf("about 2^%d", n.BitLen()-1)
}
