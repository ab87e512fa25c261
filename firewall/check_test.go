package firewall

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t *testing.T, in string) *RuleSet {
	t.Helper()
	rs, err := Parse(strings.NewReader(in), "test")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func names(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Name)
	}
	return out
}

func TestCheck(t *testing.T) {
	text := mustParse(t, `
10.0.0.0-10.0.0.255   # line 1
10.0.0.128/25         # line 2: overlaps line 1
203.0.113.7/32        # line 3
2001:db8::/64         # line 4
0.0.0.0/0             # line 5 (IPv4 only)
`[1:])
	only := mustParse(t, "10.0.0.0/24\n203.0.113.7\n2001:db8::/64\n")
	tests := []struct {
		name    string
		rs      *RuleSet
		addr    string
		want    []string
		address string // the address as evaluated, when it differs from addr
	}{
		{"first of the range", only, "10.0.0.0", []string{"line 1"}, ""},
		{"last of the range", only, "10.0.0.255", []string{"line 1"}, ""},
		{"just below the range", only, "9.255.255.255", nil, ""},
		{"just above the range", only, "10.0.1.0", nil, ""},
		{"/32 exact", only, "203.0.113.7", []string{"line 2"}, ""},
		{"/32 neighbour", only, "203.0.113.8", nil, ""},
		{"IPv4-mapped IPv6 client", only, "::ffff:203.0.113.7", []string{"line 2"}, "203.0.113.7"},
		{"IPv6 in a /64", only, "2001:db8::dead:beef", []string{"line 3"}, ""},
		{"IPv6 outside the /64", only, "2001:db8:0:1::1", nil, ""},
		{"all matches in input order", text, "10.0.0.200", []string{"line 1", "line 2", "line 5"}, ""},
		{"0.0.0.0/0 admits any IPv4", text, "192.0.2.1", []string{"line 5"}, ""},
		{"0.0.0.0/0 does not admit IPv6", text, "2001:db8:1::1", nil, ""},
		{"an IPv4 rule does not admit an IPv6 address with the same bits", only, "::a00:1", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.rs.Check(netip.MustParseAddr(tt.addr))
			if diff := cmp.Diff(tt.want, names(v.Matches)); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
			if v.Allowed != (len(tt.want) > 0) {
				t.Errorf("Allowed = %v with %d matches", v.Allowed, len(v.Matches))
			}
			want := tt.address
			if want == "" {
				want = tt.addr
			}
			if v.Address.String() != want {
				t.Errorf("Address = %s, want %s", v.Address, want)
			}
		})
	}
}

func TestCheckNotes(t *testing.T) {
	azure := mustParse(t, `[{"name":"AllowAzure","startIpAddress":"0.0.0.0","endIpAddress":"0.0.0.0"},
		{"name":"office","startIpAddress":"203.0.113.0","endIpAddress":"203.0.113.255"}]`)
	tests := []struct {
		name    string
		rs      *RuleSet
		addr    string
		allowed bool
		notes   []string
	}{
		{"Azure services rule is not an address", azure, "0.0.0.0", false, []string{
			`rule "AllowAzure" (0.0.0.0) admits connections from any Azure service: a client running in Azure may get in through it whatever its address`,
		}},
		{"no note about Azure services when allowed", azure, "203.0.113.9", true, nil},
		{"IPv6 client against Azure rules", azure, "2001:db8::1", false, []string{
			"Azure Database for PostgreSQL firewall rules take IPv4 addresses only, so no rule can admit an IPv6 client: connect over IPv4 and allow the public IPv4 address the server sees",
			`rule "AllowAzure" (0.0.0.0) admits connections from any Azure service: a client running in Azure may get in through it whatever its address`,
		}},
		{"IPv6 client against a text list", mustParse(t, "2001:db8::/32"), "2001:db8::1", true, nil},
		{"private client address", mustParse(t, "10.0.0.0/8"), "10.1.2.3", true, []string{
			`10.1.2.3 is a private address: a server reached over the internet sees the public address of your NAT gateway or proxy instead (the one in "no pg_hba.conf entry for host")`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.rs.Check(netip.MustParseAddr(tt.addr))
			if v.Allowed != tt.allowed {
				t.Errorf("Allowed = %v, want %v", v.Allowed, tt.allowed)
			}
			if diff := cmp.Diff(tt.notes, v.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckEmptyRuleSetDeniesAll(t *testing.T) {
	rs := mustParse(t, "[]")
	if v := rs.Check(netip.MustParseAddr("203.0.113.7")); v.Allowed || len(v.Matches) != 0 {
		t.Errorf("Check on no rules = %+v, want denied", v)
	}
	if v := rs.Check(netip.Addr{}); v.Allowed {
		t.Errorf("Check of the zero Addr = %+v, want denied", v)
	}
}

func TestRisks(t *testing.T) {
	rs := mustParse(t, `
0.0.0.0-255.255.255.255
0.0.0.0-0.0.0.0
10.0.0.0/8
10.0.0.0/7
0.0.0.0/1
::/0
2001:db8::/32
2001:db8::/31
203.0.113.0-203.0.113.255
`[1:])
	want := []struct {
		name     string
		severity Severity
		reason   string
	}{
		{"line 1", SeverityCritical, "admits every IPv4 address: anyone on the internet can reach the server, and only the password stands in the way"},
		{"line 2", SeverityWarning, `this is Azure's "Allow public access from any Azure service within Azure to this server": it admits connections from every Azure service, including other customers' subscriptions; allow your services' outbound addresses instead`},
		{"line 4", SeverityWarning, "admits 33554432 addresses, more than a /8: is that meant?"},
		{"line 5", SeverityWarning, "admits 2147483648 addresses, more than a /8: is that meant?"},
		{"line 6", SeverityCritical, "admits every IPv6 address: anyone on the internet can reach the server, and only the password stands in the way"},
		{"line 8", SeverityWarning, "admits about 2^97 addresses, more than a /32: is that meant?"},
	}
	got := rs.Risks()
	if len(got) != len(want) {
		t.Fatalf("Risks gave %d risks, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Rule.Name != w.name || got[i].Severity != w.severity || got[i].Reason != w.reason {
			t.Errorf("risk %d = %s %s %q\nwant %s %s %q", i, got[i].Rule.Name, got[i].Severity, got[i].Reason, w.name, w.severity, w.reason)
		}
	}
}

func TestAzureAllowCommand(t *testing.T) {
	tests := []struct {
		name, server, group, addr, want, wantErr string
	}{
		{name: "names known", server: "pg-orders", group: "rg-prod", addr: "203.0.113.7",
			want: "az postgres flexible-server firewall-rule create --resource-group rg-prod --name pg-orders --rule-name allow-203-0-113-7 --start-ip-address 203.0.113.7 --end-ip-address 203.0.113.7"},
		{name: "placeholders", addr: "203.0.113.7",
			want: "az postgres flexible-server firewall-rule create --resource-group <resource-group> --name <server> --rule-name allow-203-0-113-7 --start-ip-address 203.0.113.7 --end-ip-address 203.0.113.7"},
		{name: "IPv4-mapped", server: "s", group: "g", addr: "::ffff:198.51.100.1",
			want: "az postgres flexible-server firewall-rule create --resource-group g --name s --rule-name allow-198-51-100-1 --start-ip-address 198.51.100.1 --end-ip-address 198.51.100.1"},
		{name: "names from a file are quoted", server: "pg;rm -rf /", group: "rg (it's mine)", addr: "192.0.2.1",
			want: `az postgres flexible-server firewall-rule create --resource-group 'rg (it'\''s mine)' --name 'pg;rm -rf /' --rule-name allow-192-0-2-1 --start-ip-address 192.0.2.1 --end-ip-address 192.0.2.1`},
		{name: "IPv6", addr: "2001:db8::1", wantErr: "2001:db8::1 is an IPv6 address: Azure firewall rules take IPv4 addresses only"},
		{name: "no address", wantErr: "no client address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addr netip.Addr
			if tt.addr != "" {
				addr = netip.MustParseAddr(tt.addr)
			}
			got, err := AzureAllowCommand(tt.server, tt.group, addr)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("AzureAllowCommand error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("AzureAllowCommand =\n%s, %v\nwant\n%s", got, err, tt.want)
			}
		})
	}
}

func TestRuleString(t *testing.T) {
	if got := rule("office", "203.0.113.0", "203.0.113.255").String(); got != `"office" (203.0.113.0-203.0.113.255)` {
		t.Errorf("String = %s", got)
	}
	if got := rule("one", "203.0.113.7", "203.0.113.7").String(); got != `"one" (203.0.113.7)` {
		t.Errorf("String = %s", got)
	}
}
