package catalog

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The table of DESIGN.md: every code with its category and transient flag. The contract says codes may be added,
// never renamed, so this list only grows.
func TestDesignContract(t *testing.T) {
	want := []struct {
		code      Code
		category  Category
		transient bool
	}{
		{"config.invalid", Configuration, false},
		{"dns.not_found", DNS, false},
		{"dns.failed", DNS, true},
		{"tcp.refused", Availability, false},
		{"tcp.timeout", Timeout, false},
		{"tcp.unreachable", Firewall, false},
		{"protocol.not_postgres", Configuration, false},
		{"server.unresponsive", Timeout, true},
		{"conn.reset", Availability, true},
		{"tls.not_supported", TLS, false},
		{"tls.required", TLS, false},
		{"tls.untrusted_cert", TLS, false},
		{"tls.hostname_mismatch", TLS, false},
		{"tls.expired_cert", TLS, false},
		{"auth.password_failed", Login, false},
		{"auth.no_password", Login, false},
		{"auth.hba_rejected", Firewall, false},
		{"auth.role_not_found", Login, false},
		{"auth.login_not_permitted", Login, false},
		{"db.not_found", Configuration, false},
		{"db.not_accepting", Availability, false},
		{"limits.too_many_connections", Limits, true},
		{"limits.reserved_slots", Limits, true},
		{"limits.role_connection_limit", Limits, false},
		{"limits.db_connection_limit", Limits, false},
		{"server.starting_up", Availability, true},
		{"server.shutting_down", Availability, true},
		{"server.recovery", Availability, true},
		{"server.terminated", Availability, true},
		{"server.read_only", Availability, true},
		{"tx.serialization_failure", Transaction, true},
		{"tx.deadlock", Transaction, true},
		{"ok", None, false},
	}
	for _, w := range want {
		c, ok := byCode[w.code]
		if !ok {
			t.Errorf("code %s missing from the catalog", w.code)
			continue
		}
		if c.Category != w.category || c.Transient != w.transient {
			t.Errorf("%s: category %s transient %v, want %s %v", w.code, c.Category, c.Transient, w.category, w.transient)
		}
	}
}

var codeShape = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9_]+)?$`)

// Every cause but ok has a summary and steps, and no step is left with a placeholder nobody can fill in.
func TestEveryCauseIsComplete(t *testing.T) {
	for _, c := range All() {
		if !codeShape.MatchString(string(c.Code)) {
			t.Errorf("code %q is not of the form layer.name", c.Code)
		}
		if c.Summary == "" {
			t.Errorf("%s has no summary", c.Code)
		}
		if c.Code == OK {
			continue
		}
		for _, p := range append([]Provider{Generic}, Azure, RDS, CloudSQL, Supabase, Neon) {
			host := map[Provider]string{Generic: "db.example.com", Azure: "orders.postgres.database.azure.com", RDS: "x.abc.eu-west-1.rds.amazonaws.com",
				CloudSQL: "/cloudsql/p:r:i", Supabase: "db.abc.supabase.co", Neon: "ep-x.eu-central-1.aws.neon.tech"}[p]
			f := Facts{}.ForHost(host)
			if s := c.SummaryFor(f); placeholder.MatchString(s) {
				t.Errorf("%s: summary keeps an unknown placeholder: %s", c.Code, s)
			}
			steps := c.Steps(f)
			if len(steps) == 0 {
				t.Errorf("%s (%s) has no steps", c.Code, p)
			}
			for _, s := range steps {
				if placeholder.MatchString(s) {
					t.Errorf("%s (%s): step keeps an unknown placeholder: %s", c.Code, p, s)
				}
			}
		}
	}
}

func TestStepsUseFacts(t *testing.T) {
	f := Facts{"client_addr": "203.0.113.7", "user": "app"}.ForHost("orders.postgres.database.azure.com")
	steps := strings.Join(Lookup(AuthHBARejected).Steps(f), "\n")
	for _, want := range []string{"--name orders", "--start-ip-address 203.0.113.7 --end-ip-address 203.0.113.7", "firewall-rule create"} {
		if !strings.Contains(steps, want) {
			t.Errorf("Azure steps lack %q:\n%s", want, steps)
		}
	}
	generic := strings.Join(Lookup(AuthHBARejected).Steps(Facts{"client_addr": "10.1.2.3", "user": "app", "database": "orders"}.ForHost("db.internal")), "\n")
	if !strings.Contains(generic, "hostssl orders app 10.1.2.3/32 scram-sha-256") || strings.Contains(generic, "az ") {
		t.Errorf("generic steps wrong:\n%s", generic)
	}
}

func TestClassifyServerMessages(t *testing.T) {
	tests := []struct {
		sqlstate, text string
		want           Code
	}{
		{"28P01", `password authentication failed for user "app"`, AuthPasswordFailed},
		{"28P01", `la autentificación password falló para el usuario «app»`, AuthPasswordFailed},
		{"28000", `no pg_hba.conf entry for host "203.0.113.7", user "app", database "orders", no encryption`, AuthHBARejected},
		{"28000", `role "ghost" does not exist`, AuthRoleNotFound},
		{"28000", `role "nologin" is not permitted to log in`, AuthLoginNotPermitted},
		{"28000", `Peer authentication failed for user "postgres"`, AuthPeerFailed},
		{"28000", `Die LDAP-Authentifizierung ist fehlgeschlagen`, AuthRejected},
		{"3D000", `database "nope" does not exist`, DBNotFound},
		{"55000", `database "frozen" is not currently accepting connections`, DBNotAccepting},
		{"53300", `sorry, too many clients already`, LimitsTooManyConnections},
		{"53300", `remaining connection slots are reserved for roles with the SUPERUSER attribute`, LimitsReservedSlots},
		{"53300", `too many connections for role "app"`, LimitsRoleLimit},
		{"53300", `too many connections for database "orders"`, LimitsDBLimit},
		{"57P03", `the database system is starting up`, ServerStartingUp},
		{"57P03", `the database system is shutting down`, ServerShuttingDown},
		{"57P03", `the database system is in recovery mode`, ServerRecovery},
		{"57P01", `terminating connection due to administrator command`, ServerTerminated},
		{"25006", `cannot execute INSERT in a read-only transaction`, ServerReadOnlyTx},
		{"40001", `could not serialize access due to concurrent update`, TxSerializationFailure},
		{"40001", `could not serialize access due to read/write dependencies among transactions`, TxSerializationFailure},
		{"40P01", `deadlock detected`, TxDeadlock},
		{"42601", `syntax error at or near "selec"`, Unknown},
	}
	for _, tt := range tests {
		if got := Classify(Message{SQLState: tt.sqlstate, Text: tt.text}).Code; got != tt.want {
			t.Errorf("Classify(%s %q) = %s, want %s", tt.sqlstate, tt.text, got, tt.want)
		}
	}
}

func TestProviderOf(t *testing.T) {
	for host, want := range map[string]Provider{
		"orders.postgres.database.azure.com":       Azure,
		"ORDERS.postgres.database.azure.com.":      Azure,
		"db.cluster-x.us-east-1.rds.amazonaws.com": RDS,
		"db.abcdefgh.supabase.co":                  Supabase,
		"aws-0-eu-central-1.pooler.supabase.com":   Supabase,
		"ep-cool-1234.us-east-2.aws.neon.tech":     Neon,
		"/cloudsql/proj:region:inst":               CloudSQL,
		"db.example.com":                           Generic,
		"postgres.database.azure.com.evil.example": Generic,
	} {
		if got := ProviderOf(host); got != want {
			t.Errorf("ProviderOf(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestClientAddr(t *testing.T) {
	for msg, want := range map[string]string{
		`no pg_hba.conf entry for host "203.0.113.7", user "app", database "orders", SSL encryption`:          "203.0.113.7",
		`pg_hba.conf rejects connection for host "2001:db8::1", user "app", database "orders", no encryption`: "2001:db8::1",
		`password authentication failed for user "app"`:                                                       "",
	} {
		if got := ClientAddr(msg); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", msg, got, want)
		}
	}
}

// Client texts, whole framing included, as Recognize sees them; among them one entry for each code added since
// DESIGN.md's table.
func TestRecognizeClientTexts(t *testing.T) {
	tests := []struct {
		text string
		want Code
	}{
		{`FATAL:  The access token has invalid format.`, AuthTokenInvalid},
		{`FATAL:  Invalid Username specified. Please check the Username and retry connection. The Username should be in <username@hostname> format.`, AuthUsernameFormat},
		{`Error: pool timed out while waiting for an open connection`, ClientPoolTimeout},
		{`HikariPool-1 - Connection is not available, request timed out after 30000ms (total=0, active=0, idle=0, waiting=3)`, ClientPoolTimeout},
		{`HikariPool-1 - Connection is not available, request timed out after 30000ms (total=10, active=10, idle=0, waiting=3)`, ClientPoolExhausted},
		{`psql: error: connection to server at "10.0.0.7", port 5432 failed: session is not read-only`, ServerNotStandby},
		{`sslmode value "require" invalid when SSL support is not compiled in`, ClientNoTLSSupport},
		{`psql: error: connection to server at "db", port 5432 failed: SCRAM authentication requires libpq version 10 or above`, AuthMethodUnsupported},
		{`SSL SYSCALL error: EOF detected`, TLSConnectionLost},
		{`Server isn't configured to allow ipv6 connections`, FirewallIPv6NotAllowed},
		{`ERROR: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)`, ServerReadOnlyTx},
		// Localised server messages resolve through the SQLSTATE of their framing.
		{`Npgsql.PostgresException (0x80004005): 28P01: authentification par mot de passe échouée pour l'utilisateur « app »`, AuthPasswordFailed},
		{`server error: FATAL: no existe la base de datos «orders» (SQLSTATE 3D000)`, DBNotFound},
		{`PDOException: SQLSTATE[53300] [7] FATAL:  Entschuldigung, zu viele Clients`, LimitsTooManyConnections},
		{`2024-05-01 10:00:00.123 UTC [1234] 57P01 FATAL:  Verbindung wird abgebrochen`, ServerTerminated},
		{`** (Postgrex.Error) FATAL 28000 (invalid_authorization_specification) ...`, AuthRejected},
		// The same words as a statement's error, or under a statement's SQLSTATE, are not a connection problem.
		{`createdb: database creation failed: ERROR:  role "zotonic" does not exist`, Unknown},
		{`ERROR: role "mmi" does not exist (SQLSTATE 42704)`, Unknown},
		{`ERROR:  database "gone" does not exist`, Unknown},
		// libpq's hint follows every failed connect(); the attempt's own error decides.
		{"connection to server at \"db\" (10.0.0.5), port 5432 failed: Network is unreachable\n\tIs the server running on that host and accepting TCP/IP connections?", TCPUnreachable},
		{"connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection refused\nconnection to server at \"localhost\" (::1), port 5432 failed: Cannot assign requested address", TCPRefused},
	}
	for _, tt := range tests {
		if got := Recognize(tt.text).Cause.Code; got != tt.want {
			t.Errorf("Recognize(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}

func TestParseSQLState(t *testing.T) {
	for text, want := range map[string]string{
		`ERROR: x (SQLSTATE 28P01)`:                                  "28P01",
		`SQLSTATE[08006] [7] could not connect`:                      "08006",
		"SQL State  : 28P01\nError Code : 0":                         "28P01",
		`Npgsql.PostgresException (0x80004005): 57P01: arrêt`:        "57P01",
		`28P01:210:ВАЖНО: пользователь`:                              "28P01",
		`  code: '28000',`:                                           "28000",
		`PGFATAL [28P01]: password authentication failed`:            "28P01",
		`db error: Error { code: SqlState(E28P01), message: "..." }`: "28P01",
		`2024-05-01 10:00:00 UTC [1234] 53300 FATAL:  zu viele`:      "53300",
		`2024-05-01 10:00:00 UTC [23505] LOG:  checkpoint starting`:  "",
		`127.0.0.1:54329 (127.0.0.1): connect: connection refused`:   "",
		`ERROR:  FATAL: nothing`:                                     "",
	} {
		if got := Parse(text).SQLState; got != want {
			t.Errorf("Parse(%q).SQLState = %q, want %q", text, got, want)
		}
	}
}

func TestFactsFrom(t *testing.T) {
	f := FactsFrom(`psql: error: connection to server at "orders.postgres.database.azure.com" (20.1.2.3), port 5432 failed: FATAL:  no pg_hba.conf entry for host "203.0.113.7", user "app", database "orders", no encryption`)
	want := Facts{"host": "orders.postgres.database.azure.com", "server": "orders", "port": "5432", "user": "app", "database": "orders", "client_addr": "203.0.113.7"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("fact %s = %q, want %q (all: %v)", k, f[k], v, f)
		}
	}
}

// Messages nobody put in the corpus, written the way each client prints them: the matchers must generalise.
func TestRecognizeUnseenFramings(t *testing.T) {
	for text, want := range map[string]Code{
		"failed to connect to `user=app database=app`: dial tcp 10.0.0.1:5432: i/o timeout":                                   TCPTimeout,
		"psql: error: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such file or directory": TCPRefused,
		`org.postgresql.util.PSQLException: FATAL: no pg_hba.conf entry for host "1.2.3.4", user "x", database "y", SSL off`:  AuthHBARejected,
		`FATAL: remaining connection slots are reserved for roles with privileges of the "pg_use_reserved_connections" role`:  LimitsReservedSlots,
		"ERROR: duplicate key value violates unique constraint \"orders_pkey\" (SQLSTATE 23505)":                              Unknown,
		"FATAL:  Passwort-Authentifizierung für Benutzer »app« fehlgeschlagen (SQLSTATE 28P01)":                               AuthPasswordFailed,
	} {
		if got := Recognize(text).Cause.Code; got != want {
			t.Errorf("Recognize(%q) = %s, want %s", text, got, want)
		}
	}
	f := FactsFrom("dial tcp 10.0.0.1:5432: connect: connection refused")
	if f["address"] != "10.0.0.1" || f["port"] != "5432" {
		t.Errorf("facts from a Go dial error: %v", f)
	}
}

// A cause handed out is a copy: what one importer does with it cannot change another's retry decisions.
func TestCausesAreCopies(t *testing.T) {
	want := Lookup(TCPRefused)
	c := Lookup(TCPRefused)
	c.Transient, c.Category, c.Summary, c.Code = !c.Transient, None, "changed", OK
	all := All()
	for i := range all {
		all[i].Transient, all[i].Summary = !all[i].Transient, "changed"
	}
	v := Recognize("connection refused")
	v.Cause.Transient = !v.Cause.Transient
	e := ClassifyError(syscall.ECONNREFUSED)
	e.Transient = !e.Transient
	for _, got := range []Cause{Lookup(TCPRefused), All()[slices.IndexFunc(All(), func(c Cause) bool { return c.Code == TCPRefused })],
		Classify(Message{Text: "connection refused"}), ClassifyError(syscall.ECONNREFUSED)} {
		if got.Code != want.Code || got.Transient != want.Transient || got.Category != want.Category || got.Summary != want.Summary {
			t.Fatalf("a caller's change reached the catalog: %+v, want %+v", got, want)
		}
	}
}

// ForHost and Merge return new facts and leave theirs as they were.
func TestFactsAreNotChangedInPlace(t *testing.T) {
	f := Facts{FactUser: "app"}
	g := f.ForHost("orders.postgres.database.azure.com").Merge(Facts{FactUser: "other", FactPort: "6432", FactDatabase: ""})
	if len(f) != 1 || f[FactUser] != "app" {
		t.Errorf("facts changed in place: %v", f)
	}
	want := Facts{FactUser: "other", FactPort: "6432", FactHost: "orders.postgres.database.azure.com", FactServer: "orders"}
	if !maps.Equal(g, want) {
		t.Errorf("got %v, want %v", g, want)
	}
}

// docs/poolers.md lists every pooler and provider code with its messages and sources: a code added to the catalog
// without a row there fails here.
func TestPoolerCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/poolers.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range poolerCauses {
		if !strings.Contains(string(doc), "| "+string(c.Code)+" |") {
			t.Errorf("docs/poolers.md has no row for %s", c.Code)
		}
	}
}

// lib/pq puts the SQLSTATE in parentheses at the end of its line: the code decides when the words are unknown.
func TestLibPQSQLState(t *testing.T) {
	v := Recognize("pq: the server said something new (57P03)")
	if v.SQLState != "57P03" || v.Cause.Code != ServerRecovery {
		t.Errorf("got %s %s, want 57P03 %s", v.SQLState, v.Cause.Code, ServerRecovery)
	}
	if v := Recognize("listening on (57P03)"); v.SQLState != "" {
		t.Errorf("a code in parentheses outside lib/pq's framing was taken for a SQLSTATE: %s", v.SQLState)
	}
}
