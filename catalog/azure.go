package catalog

import "strings"

// AzureAllowCommand is the Azure CLI command that adds a firewall rule admitting one IPv4 address to an Azure
// Database for PostgreSQL flexible server (Single Servers were migrated to flexible servers of the same name when
// Azure retired them). Empty arguments give placeholders; other values are quoted for a POSIX shell when they need
// it, because server and group names may come from files. The rule is named after the address, so that running
// the command twice for two addresses makes two rules.
func AzureAllowCommand(server, resourceGroup, ip string) string {
	rule := "allow-client"
	if ip != "" {
		rule = "allow-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
	}
	return strings.Join([]string{
		"az postgres flexible-server firewall-rule create",
		"--resource-group", shellWord(resourceGroup, "<resource-group>"),
		"--name", shellWord(server, "<server>"),
		"--rule-name", shellWord(rule, ""),
		"--start-ip-address", shellWord(ip, "<client-address>"),
		"--end-ip-address", shellWord(ip, "<client-address>"),
	}, " ")
}

// shellWord quotes s for a POSIX shell unless it is made only of characters that need no quoting; empty s gives the
// placeholder.
func shellWord(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	plain := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
