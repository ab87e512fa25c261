package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pgtriage/pgtriage/catalog"
)

// resourceID is what an Azure resource id says about the server a firewall rule belongs to.
type resourceID struct {
	resourceGroup string
	server        string
	singleServer  bool
}

// parseResourceID reads ids such as
// /subscriptions/S/resourceGroups/RG/providers/Microsoft.DBforPostgreSQL/flexibleServers/NAME/firewallRules/RULE.
// Segment names are matched without regard to case, as ARM does. The server is taken only from a PostgreSQL
// provider: the command we print is for PostgreSQL.
func parseResourceID(id string) resourceID {
	var out resourceID
	seg := strings.Split(id, "/")
	for i := 0; i+1 < len(seg); i++ {
		switch {
		case strings.EqualFold(seg[i], "resourceGroups"):
			out.resourceGroup = seg[i+1]
		case strings.EqualFold(seg[i], "providers") && i+3 < len(seg) && strings.EqualFold(seg[i+1], "Microsoft.DBforPostgreSQL"):
			switch {
			case strings.EqualFold(seg[i+2], "flexibleServers"):
				out.server = seg[i+3]
			case strings.EqualFold(seg[i+2], "servers"):
				out.server, out.singleServer = seg[i+3], true
			}
		}
	}
	return out
}

// AzureAllowCommand gives the Azure CLI command that adds a firewall rule admitting addr, alone, to an Azure Database
// for PostgreSQL flexible server. An empty server or resourceGroup gives the placeholder "<server>" or
// "<resource-group>"; other values are quoted for a POSIX shell when they need it. Azure firewall rules hold IPv4
// addresses only, so an IPv6 addr (other than IPv4-mapped) is an error.
//
// The command also fits a server that was a Single Server: Azure migrated those to flexible servers of the same name
// when it retired Single Server.
func AzureAllowCommand(server, resourceGroup string, addr netip.Addr) (string, error) {
	addr = addr.Unmap()
	if !addr.Is4() {
		if !addr.IsValid() {
			return "", errors.New("no client address")
		}
		return "", fmt.Errorf("%s is an IPv6 address: Azure firewall rules take IPv4 addresses only", addr)
	}
	return catalog.AzureAllowCommand(server, resourceGroup, addr.String()), nil
}
