package catalog

import (
	"slices"
	"strings"
	"testing"
)

// TestStepsQuoteFacts: names and addresses from a server's message or a pasted log go into the suggested SQL,
// pg_hba.conf lines and shell commands as one quoted name, never as more SQL or another pg_hba field.
func TestStepsQuoteFacts(t *testing.T) {
	evil := `x; DROP DATABASE orders; --`
	for _, tt := range []struct {
		code  Code
		facts Facts
		want  []string
		never []string
	}{
		{AuthRoleNotFound, Facts{"user": evil}, []string{`CREATE ROLE "x; DROP DATABASE orders; --" LOGIN PASSWORD '...'`}, []string{"CREATE ROLE x;"}},
		{AuthLoginNotPermitted, Facts{"user": `a"b`}, []string{`ALTER ROLE "a""b" LOGIN`, `SET ROLE "a""b"`}, nil},
		{DBNotFound, Facts{"database": `orders" WITH OWNER "evil`}, []string{`CREATE DATABASE "orders"" WITH OWNER ""evil"`}, nil},
		{LimitsRoleLimit, Facts{"user": `o'brien`}, []string{`WHERE usename = 'o''brien' GROUP BY`, `ALTER ROLE "o'brien" CONNECTION LIMIT`}, nil},
		{LimitsRoleLimit, Facts{"user": `a\'; DROP TABLE t; --`}, []string{`WHERE usename = E'a\\''; DROP TABLE t; --' GROUP BY`}, nil},
		{LimitsDBLimit, Facts{}, []string{`WHERE datname = '<database>' GROUP BY`}, nil},
		{AuthHBARejected, Facts{"database": "orders", "user": evil, "client_addr": "2001:db8::7"},
			[]string{`hostssl orders "x; DROP DATABASE orders; --" 2001:db8::7/128 scram-sha-256`}, nil},
		{AuthHBARejected, Facts{"database": "all", "user": `a"b,c`, "client_addr": "203.0.113.7"},
			[]string{`hostssl "all" "a""b,c" 203.0.113.7/32 scram-sha-256`}, nil},
		// An address that is none, or a name with a line break, leaves the placeholder to fill in.
		{AuthHBARejected, Facts{"database": "orders", "user": "app\nhost all all 0.0.0.0/0 trust", "client_addr": "0.0.0.0/0 trust"},
			[]string{`hostssl orders <role> <client-address>/32 scram-sha-256`}, []string{"0.0.0.0/0 trust scram"}},
		{TCPTimeout, Facts{"host": "db; rm -rf ~", "port": "5432"}, []string{"`nc -vz 'db; rm -rf ~' 5432`"}, nil},
	} {
		steps := strings.Join(Lookup(tt.code).Steps(tt.facts), "\n")
		for _, w := range tt.want {
			if !strings.Contains(steps, w) {
				t.Errorf("%s with %q: no %s in\n%s", tt.code, tt.facts, w, steps)
			}
		}
		for _, n := range tt.never {
			if strings.Contains(steps, n) {
				t.Errorf("%s with %q: %s in\n%s", tt.code, tt.facts, n, steps)
			}
		}
	}
}

// Every {name:syntax} of the catalog names a syntax quote knows.
func TestStepSyntaxesKnown(t *testing.T) {
	known := []string{"", "ident", "literal", "hba", "cidr", "sh"}
	for _, c := range All() {
		all := append([]string{c.Summary}, c.steps...)
		for _, steps := range c.providerSteps {
			all = append(all, steps...)
		}
		for _, s := range all {
			for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
				if !slices.Contains(known, m[2]) {
					t.Errorf("%s: unknown syntax in %s", c.Code, m[0])
				}
			}
		}
	}
}
