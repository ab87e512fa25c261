// Package firewall evaluates a managed server's firewall rules against a client address: is the client admitted,
// by which rule, which rules expose the server more than they should, and which command would admit the client.
//
// It is for the failure that Azure Database for PostgreSQL reports as
//
//	FATAL: no pg_hba.conf entry for host "203.0.113.7", user "app", database "orders", SSL
//
// where the "pg_hba.conf" is in fact the server firewall, and the host is the client address the server saw.
//
// # Getting started
//
// Export the rules and parse them; Parse detects the shape:
//
//	az postgres flexible-server firewall-rule list --resource-group RG --name SERVER > rules.json
//
//	rs, err := firewall.Parse(f, "rules.json")
//	if err != nil {
//		return err // a *ParseError: names the line or the rule, e.g. rule 3 ("office"): startIpAddress ...
//	}
//	v := rs.Check(netip.MustParseAddr("203.0.113.7"))
//	if !v.Allowed {
//		cmd, err := firewall.AzureAllowCommand(rs.Server, rs.ResourceGroup, v.Address)
//		...
//	}
//	for _, risk := range rs.Risks() { ... }
//
// # Input shapes
//
//   - Azure CLI JSON: what `az postgres flexible-server firewall-rule list` prints, an array of objects with name,
//     startIpAddress, endIpAddress, id, resourceGroup and type; also one such object (`... firewall-rule show`) and
//     the same shape from the retired Single Server (`az postgres server firewall-rule list`).
//   - ARM REST API JSON: {"value": [{"name": ..., "properties": {"startIpAddress": ..., "endIpAddress": ...}}]}.
//   - Plain text: one entry a line, an address, a CIDR prefix (IPv4 or IPv6) or a range "start-end" or "start end";
//     '#' starts a comment. Rules are named "line N".
//
// The server name and resource group are read from the rules' resource ids when present.
//
// # Azure facts the evaluation relies on
//
// Azure firewall rules hold IPv4 ranges only, so an IPv6 client cannot be admitted by any rule. A rule from 0.0.0.0
// to 0.0.0.0 is not an address: it is the portal's "Allow public access from any Azure service within Azure to this
// server", which admits connections from all of Azure, other customers' subscriptions included; Check never counts
// it as a match but says so in a note, and Risks names it. Changes to the rules can take up to five minutes to apply.
package firewall
