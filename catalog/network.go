package catalog

import (
	"net/netip"
	"strings"
	"time"
)

// privateZones are the DNS zones of managed services' private endpoints: a name in one of them (the host, or a
// CNAME on the way) is meant to resolve, through a private DNS zone linked to the client's network, to a private
// address. From a network without the zone the public DNS answers instead, with the service's public address.
var privateZones = []struct {
	provider Provider
	suffix   string
}{
	// Azure Private Link: <server>.postgres.database.azure.com is a CNAME of <server>.privatelink.postgres...
	{Azure, ".privatelink.postgres.database.azure.com"},
	// Azure flexible server with private access (VNet integration): <server>.private.postgres.database.azure.com,
	// or a custom zone ending so.
	{Azure, ".private.postgres.database.azure.com"},
	// Azure single server's and Cosmos DB for PostgreSQL's Private Link zones.
	{Azure, ".privatelink.postgres.cosmos.azure.com"},
	// AWS PrivateLink interface endpoints (RDS, RDS Proxy, a provider's endpoint service).
	{RDS, ".vpce.amazonaws.com"},
	// Cloud SQL Private Service Connect DNS names live in a private Cloud DNS zone under sql.goog.
	{CloudSQL, ".sql.goog"},
}

// PrivateZone says whether name belongs to a managed service's private-endpoint DNS zone, and which.
func PrivateZone(name string) (Provider, string, bool) {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	for _, z := range privateZones {
		if strings.HasSuffix(n, z.suffix) {
			return z.provider, strings.TrimPrefix(z.suffix, "."), true
		}
	}
	return Generic, "", false
}

// sharedAddressSpace is RFC 6598's 100.64.0.0/10 (carrier-grade NAT), private in practice though not in
// netip's IsPrivate.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// IsPrivateAddress says whether a reaches only inside a private network (RFC 1918, RFC 6598, IPv6 unique local,
// loopback, link-local): the kind of address a private endpoint or a VPC-only server has.
func IsPrivateAddress(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || sharedAddressSpace.Contains(a)
}

// EntraAudiences are the audiences (aud) of Microsoft Entra ID access tokens that Azure Database for PostgreSQL
// accepts: the resource oss-rdbms in the public, US Government and China clouds. A token for another resource
// (https://management.azure.com/ from a plain `az account get-access-token`) is refused with a generic message.
var EntraAudiences = []string{
	"https://ossrdbms-aad.database.windows.net",
	"https://ossrdbms-aad.database.usgovcloudapi.net",
	"https://ossrdbms-aad.database.chinacloudapi.cn",
}

// IsEntraAudience says whether a token's audience (one, or several separated by spaces) names Azure Database
// for PostgreSQL.
func IsEntraAudience(aud string) bool {
	for _, a := range strings.Fields(aud) {
		for _, want := range EntraAudiences {
			if strings.EqualFold(strings.TrimSuffix(a, "/"), want) {
				return true
			}
		}
	}
	return false
}

// MiddleBox is a kind of device on the path that forgets idle TCP connections after a fixed time.
type MiddleBox struct {
	Name string
	// Idle is the default idle timeout.
	Idle time.Duration
}

// middleBoxes are the idle timeouts users meet most, from the providers' documentation: Azure Load Balancer
// rules, outbound rules and NAT Gateway default to 4 minutes (silent unless "TCP reset on idle" is on); AWS NAT
// gateway, Network and Gateway Load Balancers forget TCP flows after 350 s and reset later packets; Google Cloud's
// VPC firewall tracks idle connections for 10 minutes and Cloud NAT's established TCP timeout is 20 minutes;
// firewalls such as Cisco ASA and Palo Alto default to one hour; kube-proxy sets Linux conntrack to one day.
var middleBoxes = []MiddleBox{
	{"Azure Load Balancer or Azure NAT Gateway (default idle timeout 4 min; silent unless TCP reset on idle is on)", 4 * time.Minute},
	{"AWS NAT gateway or Network Load Balancer (350 s; later packets are reset)", 350 * time.Second},
	{"Google Cloud VPC firewall connection tracking (10 min)", 10 * time.Minute},
	{"Google Cloud NAT (TCP established idle timeout 20 min)", 20 * time.Minute},
	{"an enterprise firewall's session timeout (Cisco ASA, Palo Alto: 1 h)", time.Hour},
	{"Linux conntrack as kube-proxy sets it (1 day)", 24 * time.Hour},
}

// LikelyMiddleBoxes names the known middle boxes whose default idle timeout is within 10% of the figure found;
// none when no default matches (a custom timeout).
func LikelyMiddleBoxes(idle time.Duration) []MiddleBox {
	var out []MiddleBox
	for _, m := range middleBoxes {
		if d := idle - m.Idle; d < m.Idle/10 && -d < m.Idle/10 {
			out = append(out, m)
		}
	}
	return out
}
