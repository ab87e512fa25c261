package catalog

import (
	"regexp"
	"strings"
)

// Facts are what a diagnosis found out, by name, for the {name} placeholders of the steps. Names in use:
//
//	host, port, user, database, address (the IP address tried), client_addr (the client address the server saw),
//	sslmode, method (authentication method), passfile, looked_in (where a password was looked for),
//	cert_names, cert_not_after, tsa, server, resource_group, private_name and private_zone (a private-endpoint name
//	on the way and its zone), idle_cut, idle_cut_effect, keepalives_idle, keepalives_interval, pool_max_idle (the
//	idle-cut finder's figures); and azure_allow_command, derived from them
type Facts map[string]string

// placeholders are said in place of a fact nobody found: <name> marks what the user fills in, so that a step stays
// an instruction (and a command) a person can follow. <client-address> is the address the server saw, which its
// "no pg_hba.conf entry for host" message names.
var placeholders = map[string]string{
	"host":           "<host>",
	"port":           "<port>",
	"user":           "<role>",
	"database":       "<database>",
	"address":        "<server-address>",
	"client_addr":    "<client-address>",
	"sslmode":        "<sslmode>",
	"method":         "a password method",
	"passfile":       "~/.pgpass",
	"looked_in":      "the connection string, PGPASSWORD and the passfile",
	"cert_names":     "the names in the certificate",
	"cert_not_after": "its expiry date",
	"tsa":            "read-only or standby",
	"server":         "<server-name>",
	"resource_group": "<resource-group>",
	"private_name":   "the private-endpoint name",
	"private_zone":   "the private DNS zone",
	// The idle-cut finder's figures, in seconds.
	"idle_cut":            "the cut",
	"idle_cut_effect":     "hangs or is reset",
	"keepalives_idle":     "60",
	"keepalives_interval": "10",
	"pool_max_idle":       "a minute less than the cut",
}

// derived are facts computed from other facts.
var derived = map[string]func(Facts) string{
	"azure_allow_command": func(f Facts) string {
		return AzureAllowCommand(f["server"], f["resource_group"], f["client_addr"])
	},
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

func (f Facts) expand(s string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		if v := f[name]; v != "" {
			return v
		}
		if d, ok := derived[name]; ok {
			return d(f)
		}
		if p, ok := placeholders[name]; ok {
			return p
		}
		return m
	})
}

// Provider is a managed PostgreSQL service whose gateways, firewalls and endpoints change the answer.
type Provider string

// The managed services the catalog knows. Generic is any other server.
const (
	Generic  Provider = ""
	Azure    Provider = "azure"
	RDS      Provider = "rds"
	CloudSQL Provider = "cloudsql"
	Supabase Provider = "supabase"
	Neon     Provider = "neon"
)

// providerHosts recognises a managed service from the host name the client uses.
var providerHosts = []struct {
	provider Provider
	suffix   string
}{
	{Azure, ".postgres.database.azure.com"},
	{RDS, ".rds.amazonaws.com"},
	{RDS, ".rds.amazonaws.com.cn"},
	{CloudSQL, ".sql.goog"},
	{Supabase, ".supabase.co"},
	{Supabase, ".supabase.com"},
	{Neon, ".neon.tech"},
}

// ProviderOf says which managed service a host name belongs to; Generic when none is recognised.
func ProviderOf(host string) Provider {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if strings.HasPrefix(h, "/cloudsql/") {
		return CloudSQL
	}
	for _, p := range providerHosts {
		if strings.HasSuffix(h, p.suffix) {
			return p.provider
		}
	}
	return Generic
}

// ForHost fills in the facts that follow from a host name: the managed service and, for Azure, the server name.
func (f Facts) ForHost(host string) Facts {
	f["host"] = host
	if ProviderOf(host) == Azure {
		f["server"] = strings.SplitN(host, ".", 2)[0]
	}
	return f
}

// Provider is the managed service of the host in the facts.
func (f Facts) Provider() Provider { return ProviderOf(f["host"]) }

// clientAddrPatterns find the client address a server names in its rejection (pg_hba, Azure's gateway).
var clientAddrPatterns = []*regexp.Regexp{
	regexp.MustCompile(`pg_hba\.conf (?:entry for|rejects connection for) host "([^"]+)"`),
	regexp.MustCompile(`(?i)client (?:ip )?address[: ]+"?([0-9a-f.:]+)"?`),
}

// ClientAddr returns the client address a server's message names ("" when it names none): the address the server
// saw, which after NAT or a proxy is not the one the client thinks it has.
func ClientAddr(message string) string {
	for _, rx := range clientAddrPatterns {
		if m := rx.FindStringSubmatch(message); m != nil {
			return m[1]
		}
	}
	return ""
}

// Merge adds the facts of o that are set, and returns f.
func (f Facts) Merge(o Facts) Facts {
	for k, v := range o {
		if v != "" {
			f[k] = v
		}
	}
	return f
}
