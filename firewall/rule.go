package firewall

import (
	"fmt"
	"math/big"
	"net/netip"
)

// Rule admits the client addresses from Start to End inclusive. Start and End are of the same family (both IPv4 or
// both IPv6) and never IPv4-mapped IPv6 addresses: Parse unmaps them.
type Rule struct {
	// Name is the rule's name in Azure, or "line N" for a rule read from a plain-text list, or "rule N" for an Azure
	// rule without a name (N counts from 1).
	Name  string
	Start netip.Addr
	End   netip.Addr
}

// Contains reports whether the rule admits addr. Families are kept apart, as pg_hba.conf does: an IPv4 rule never
// matches an IPv6 client, and the other way round; IPv4-mapped IPv6 clients are unmapped first.
func (r Rule) Contains(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.Is4() != r.Start.Is4() {
		return false
	}
	return r.Start.Compare(addr) <= 0 && addr.Compare(r.End) <= 0
}

// Range is the rule's addresses as people write them: one address, or "start-end".
func (r Rule) Range() string {
	if r.Start == r.End {
		return r.Start.String()
	}
	return r.Start.String() + "-" + r.End.String()
}

// String gives the name and the range, e.g. `"office" (203.0.113.0-203.0.113.255)`.
func (r Rule) String() string {
	return fmt.Sprintf("%q (%s)", r.Name, r.Range())
}

// AzureServices reports whether the rule is 0.0.0.0-0.0.0.0, which Azure reads not as an address but as "Allow
// public access from any Azure service within Azure to this server".
func (r Rule) AzureServices() bool {
	zero := netip.IPv4Unspecified()
	return r.Start == zero && r.End == zero
}

// size is the number of addresses the rule admits.
func (r Rule) size() *big.Int {
	start := new(big.Int).SetBytes(r.Start.AsSlice())
	end := new(big.Int).SetBytes(r.End.AsSlice())
	n := end.Sub(end, start)
	return n.Add(n, big.NewInt(1))
}

// everything reports whether the rule admits every address of its family.
func (r Rule) everything() bool {
	if r.Start.Is4() {
		return r.Start == netip.IPv4Unspecified() && r.End == netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	var ones [16]byte
	for i := range ones {
		ones[i] = 0xff
	}
	return r.Start == netip.IPv6Unspecified() && r.End == netip.AddrFrom16(ones)
}
