package catalog

import (
	"net/netip"
	"strings"
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
