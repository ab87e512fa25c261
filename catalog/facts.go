package catalog

import (
	"maps"
	"net/netip"
	"regexp"
	"strings"
)

// Fact names one thing a diagnosis found out; a step names it as a {name} placeholder.
type Fact string

// The facts the steps may name.
const (
	FactHost          Fact = "host"
	FactPort          Fact = "port"
	FactUser          Fact = "user"
	FactDatabase      Fact = "database"
	FactAddress       Fact = "address"     // the IP address tried
	FactClientAddr    Fact = "client_addr" // the client address the server saw
	FactSSLMode       Fact = "sslmode"
	FactMethod        Fact = "method" // the authentication method the server asked for
	FactPassfile      Fact = "passfile"
	FactLookedIn      Fact = "looked_in" // where a password was looked for
	FactCertNames     Fact = "cert_names"
	FactCertNotAfter  Fact = "cert_not_after"
	FactTSA           Fact = "tsa" // target_session_attrs
	FactServer        Fact = "server"
	FactResourceGroup Fact = "resource_group"
	FactPrivateName   Fact = "private_name" // a private-endpoint name on the way from the host to its addresses
	FactPrivateZone   Fact = "private_zone" // the private DNS zone it belongs to
	// The idle-cut finder's figures: the cut, what the next query met, and the settings that stay under the cut.
	FactIdleCut            Fact = "idle_cut"
	FactIdleCutEffect      Fact = "idle_cut_effect"
	FactKeepalivesIdle     Fact = "keepalives_idle"
	FactKeepalivesInterval Fact = "keepalives_interval"
	FactPoolMaxIdle        Fact = "pool_max_idle"
	// FactAzureAllowCommand is derived from the others; see derived.
	FactAzureAllowCommand Fact = "azure_allow_command"
)

// Facts are what a diagnosis found out, for the {name} placeholders of the steps. Merge and ForHost return a new
// Facts and leave theirs as it was.
type Facts map[Fact]string

// placeholders are said in place of a fact nobody found: <name> marks what the user fills in, so that a step stays
// an instruction (and a command) a person can follow. <client-address> is the address the server saw, which its
// "no pg_hba.conf entry for host" message names.
var placeholders = map[Fact]string{
	FactHost:          "<host>",
	FactPort:          "<port>",
	FactUser:          "<role>",
	FactDatabase:      "<database>",
	FactAddress:       "<server-address>",
	FactClientAddr:    "<client-address>",
	FactSSLMode:       "<sslmode>",
	FactMethod:        "a password method",
	FactPassfile:      "~/.pgpass",
	FactLookedIn:      "the connection string, PGPASSWORD and the passfile",
	FactCertNames:     "the names in the certificate",
	FactCertNotAfter:  "its expiry date",
	FactTSA:           "read-only or standby",
	FactServer:        "<server-name>",
	FactResourceGroup: "<resource-group>",
	FactPrivateName:   "the private-endpoint name",
	FactPrivateZone:   "the private DNS zone",
	FactIdleCut:       "the cut",
	FactIdleCutEffect: "hangs or is reset",
	// Seconds, for the settings' examples where no cut was measured.
	FactKeepalivesIdle:     "60",
	FactKeepalivesInterval: "10",
	FactPoolMaxIdle:        "a minute less than the cut",
}

// derived are facts computed from other facts.
var derived = map[Fact]func(Facts) string{
	FactAzureAllowCommand: func(f Facts) string {
		return AzureAllowCommand(f[FactServer], f[FactResourceGroup], f[FactClientAddr])
	},
}

// placeholder is {name}, or {name:syntax} where a step writes the fact into a command: see quote.
var placeholder = regexp.MustCompile(`\{([a-z_]+)(?::([a-z]+))?\}`)

func (f Facts) expand(s string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		key, syntax, _ := strings.Cut(m[1:len(m)-1], ":")
		name := Fact(key)
		if v := f[name]; v != "" {
			if q, ok := quote(syntax, v); ok {
				return q
			}
			// A value the syntax cannot carry: the placeholder, for the user to fill in.
		} else if d, ok := derived[name]; ok {
			return d(f)
		}
		if p, ok := placeholders[name]; ok {
			switch syntax {
			case "literal":
				return "'" + p + "'"
			case "cidr":
				return p + "/32"
			}
			return p
		}
		return m
	})
}

// quote writes a fact in the syntax of the command that a step suggests. Facts come from servers, logs and pasted
// text, so a role named `x; DROP DATABASE orders; --` must stay one name:
//
//	ident    an SQL identifier, always double-quoted
//	literal  an SQL string constant, E'' when it holds a backslash (as libpq's PQescapeLiteral)
//	hba      a database or role field of pg_hba.conf, double-quoted unless plain; no line breaks
//	cidr     an address field of pg_hba.conf: a valid IP address, as a one-address CIDR
//	sh       a word for a POSIX shell
//
// It says false when the value cannot be written in the syntax.
func quote(syntax, v string) (string, bool) {
	switch syntax {
	case "":
		return v, true
	case "ident":
		// PostgreSQL cuts an identifier at a NUL; it cannot hold one.
		return `"` + strings.ReplaceAll(strings.ReplaceAll(v, "\x00", ""), `"`, `""`) + `"`, true
	case "literal":
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\x00", ""), "'", "''")
		if strings.Contains(v, `\`) {
			return "E'" + strings.ReplaceAll(v, `\`, `\\`) + "'", true
		}
		return "'" + v + "'", true
	case "hba":
		if strings.ContainsAny(v, "\r\n\x00") {
			return "", false
		}
		if plainHBAName.MatchString(v) && !hbaKeywords[v] {
			return v, true
		}
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`, true
	case "cidr":
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return "", false
		}
		return netip.PrefixFrom(a, a.BitLen()).String(), true
	case "sh":
		return shellWord(v, ""), true
	}
	return "", false
}

// plainHBAName is a name pg_hba.conf reads as itself without quotes: not a keyword, a group (+), a file (@) or a
// regular expression (/), no separator (comma, space) and no comment (#).
var plainHBAName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.$-]*$`)

var hbaKeywords = map[string]bool{"all": true, "sameuser": true, "samerole": true, "samegroup": true, "replication": true}

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

// ForHost returns the facts with those that follow from a host name: the host and, for Azure, the server name.
func (f Facts) ForHost(host string) Facts {
	out := f.Merge(Facts{FactHost: host})
	if ProviderOf(host) == Azure {
		out[FactServer] = strings.SplitN(host, ".", 2)[0]
	}
	return out
}

// Provider is the managed service of the host in the facts.
func (f Facts) Provider() Provider { return ProviderOf(f[FactHost]) }

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

// Merge returns the facts of f with those of o that are set in their place.
func (f Facts) Merge(o Facts) Facts {
	out := make(Facts, len(f)+len(o))
	maps.Copy(out, f)
	for k, v := range o {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
