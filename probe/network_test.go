package probe

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// privateAddr is a random address of 10.254.0.0/16 for Attach: a realistic private endpoint address that the
// host routes to the test's namespace.
func privateAddr(t *testing.T) netip.Addr {
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return netip.AddrFrom4([4]byte{10, 254, b[0], b[1]})
}

// TestPrivateEndpointDNS: the dns stage shows the CNAME chain, and names a private-link name that resolves to a
// public address (the private DNS zone is not linked to the client's network) and a managed service's public name
// that resolves to a private address, from the tests' own DNS server and a namespace behind the addresses.
func TestPrivateEndpointDNS(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	n := pgtest.NewNetns(t)
	public, dropped, private, unrouted := n.Addr(t), n.Addr(t), privateAddr(t), privateAddr(t)
	for unrouted == private {
		unrouted = privateAddr(t)
	}
	n.Attach(t, private)
	n.Attach(t, unrouted)
	n.Nft(t, fmt.Sprintf(`table inet pgtest {
	chain input {
		type filter hook input priority 0;
		ip daddr { %s, %s } tcp dport 5432 drop
	}
}`, dropped, unrouted))
	server := fmt.Sprintf("%s:%d", c.Host, c.Port)
	viaPublic := n.Forward(t, public, server)
	viaPrivate := n.Forward(t, private, server)

	const name, link = "orders.postgres.database.azure.com", "orders.privatelink.postgres.database.azure.com"
	const gateway = "cr1.westeurope1-a.control.database.windows.net"
	d := pgtest.StartDNS(t, nil)
	d.CNAME(name, link)
	opts := Options{Resolver: d.Resolver()}
	conn := func(port uint16) string {
		return fmt.Sprintf("host=%s port=%d user=app password=%s dbname=postgres sslmode=disable connect_timeout=2", name, port, appPassword)
	}

	t.Run("zone not linked, public access closed", func(t *testing.T) {
		d.CNAME(link, gateway)
		d.Set(gateway, dropped)
		r := check(t, conn(5432), opts)
		expect(t, r, catalog.DNSPrivateZoneNotLinked, 2)
		dnsStage := stageOf(r, "dns")
		if want := name + " → " + link + " → " + gateway; dnsStage.Status != StageWarn || !strings.Contains(dnsStage.Detail, want) {
			t.Errorf("dns stage %+v, want a warning with the chain %s", dnsStage, want)
		}
		steps := strings.Join(r.Diagnosis.Steps, "\n")
		if !strings.Contains(steps, "az network private-dns link vnet create") || !strings.Contains(steps, "--zone-name privatelink.postgres.database.azure.com") {
			t.Errorf("steps do not link the zone:\n%s", steps)
		}
		if !strings.Contains(r.Diagnosis.Summary, dropped.String()) {
			t.Errorf("summary does not name the public address %s: %s", dropped, r.Diagnosis.Summary)
		}
	})
	t.Run("zone not linked, public access open", func(t *testing.T) {
		d.CNAME(link, gateway)
		d.Set(gateway, public)
		r := check(t, conn(viaPublic.Port()), opts)
		expect(t, r, catalog.OK, 0)
		if !hasFinding(r, catalog.DNSPrivateZoneNotLinked) {
			t.Errorf("no finding that traffic goes to the public endpoint: %+v", r.Findings)
		}
	})
	t.Run("zone linked", func(t *testing.T) {
		d.CNAME(link, "") // the private zone answers for the private-link name itself
		d.Set(link, private)
		r := check(t, conn(viaPrivate.Port()), opts)
		expect(t, r, catalog.OK, 0)
		if st := stageOf(r, "dns"); st.Status != StageOK || !strings.Contains(st.Detail, name+" → "+link) || !strings.Contains(st.Detail, private.String()) {
			t.Errorf("dns stage %+v, want ok with the chain and %s", st, private)
		}
		if hasFinding(r, catalog.DNSPrivateZoneNotLinked) || hasFinding(r, catalog.DNSPrivateAddress) {
			t.Errorf("a private-endpoint finding on a healthy private endpoint: %+v", r.Findings)
		}
	})
	t.Run("public name, private address", func(t *testing.T) {
		const rds = "orders.c9akciq32.eu-west-1.rds.amazonaws.com"
		d.Set(rds, unrouted)
		r := check(t, fmt.Sprintf("host=%s user=app dbname=postgres connect_timeout=2", rds), opts)
		expect(t, r, catalog.DNSPrivateAddress, 2)
		if steps := strings.Join(r.Diagnosis.Steps, "\n"); !strings.Contains(steps, "--publicly-accessible") {
			t.Errorf("no RDS steps:\n%s", steps)
		}
	})
}

func hasFinding(r *Report, code catalog.Code) bool {
	for _, f := range r.Findings {
		if f.Code == string(code) {
			return true
		}
	}
	return false
}

// TestTokenPasswords: access tokens given as the password are read locally, and an expired token or one for
// another host explains the server's generic refusal; the token never reaches the report.
func TestTokenPasswords(t *testing.T) {
	pgtest.Isolate(t)
	const aud = "https://ossrdbms-aad.database.windows.net"
	expiring := pgtest.EntraToken(aud, time.Now().Add(3*time.Minute), "app@contoso.com")
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: expiring}}})
	hostPort := fmt.Sprintf("%s:%d", c.Host, c.Port)
	tests := []struct {
		name, password string
		code           catalog.Code
		exit           int
		finding        catalog.Code
	}{
		{"expired entra token", pgtest.EntraToken(aud, time.Now().Add(-10*time.Minute), "app@contoso.com"), catalog.AuthTokenExpired, 1, ""},
		{"entra token for another resource", pgtest.EntraToken("https://management.azure.com/", time.Now().Add(time.Hour), "app@contoso.com"), catalog.AuthTokenWrongAudience, 1, ""},
		{"rds token for another host", pgtest.RDSToken("orders.abc.eu-west-1.rds.amazonaws.com:5432", "app", time.Now(), 15*time.Minute), catalog.AuthTokenWrongAudience, 1, ""},
		{"expired rds token", pgtest.RDSToken(hostPort, "app", time.Now().Add(-20*time.Minute), 15*time.Minute), catalog.AuthTokenExpired, 1, ""},
		{"accepted token that expires soon", expiring, catalog.OK, 0, catalog.AuthTokenExpiring},
		{"ordinary wrong password", "wrong-pw", catalog.AuthPasswordFailed, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := check(t, c.ConnString("user=app", "password="+tt.password, "dbname=postgres", "sslmode=disable"), Options{})
			expect(t, r, tt.code, tt.exit)
			if tt.finding != "" && !hasFinding(r, tt.finding) {
				t.Errorf("no %s finding: %+v", tt.finding, r.Findings)
			}
			var text strings.Builder
			if err := r.WriteText(&text, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(r)
			for _, part := range pgtest.TokenSecrets(tt.password) {
				if strings.Contains(text.String()+string(js), part) {
					t.Fatalf("the report contains a secret part of the token %q:\n%s", part, text.String())
				}
			}
		})
	}
}

// TestMTUBlackhole: through a path that loses full-size packets and filters ICMP "fragmentation needed", the login
// and the server stage pass and the 64 KB result stalls: net.mtu_blackhole, with the MSS-clamping steps.
func TestMTUBlackhole(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	via := pgtest.MTUBlackholePath(t, fmt.Sprintf("%s:%d", c.Host, c.Port), 1280)
	r := check(t, c.ConnString("host="+via.Addr().String(), fmt.Sprintf("port=%d", via.Port()), "user=app", "password="+appPassword,
		"dbname=postgres", "sslmode=disable", "connect_timeout=2"), Options{})
	expect(t, r, catalog.NetMTUBlackhole, 1)
	if st := stageOf(r, "server"); st == nil || st.Status == StageFail {
		t.Errorf("the server stage did not pass before the stall: %+v", r.Stages)
	}
	if steps := strings.Join(r.Diagnosis.Steps, "\n"); !strings.Contains(steps, "maxseg size set rt mtu") {
		t.Errorf("no MSS clamping step:\n%s", steps)
	}

	// The same server without the black hole: the large result arrives.
	r = check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"), Options{})
	expect(t, r, catalog.OK, 0)
	if st := stageOf(r, StageMTU); st == nil || st.Status != StageOK {
		t.Errorf("mtu stage on loopback: %+v", st)
	}
}

// TestAddressFamilies: a client in an IPv4-only network meets a host with IPv6 addresses only, and a client in an
// IPv6-only network one with IPv4 addresses only; the kernel of the client's namespace says "network is
// unreachable" and the verdict names the address family, with the provider's way out.
func TestAddressFamilies(t *testing.T) {
	pgtest.Isolate(t)
	v4only, v6only := pgtest.NewNetns(t), pgtest.NewNetns(t)
	v6only.RemoveIPv4(t)
	d := pgtest.StartDNS(t, map[string][]netip.Addr{
		"db.abcdefghijkl.supabase.co":                  {netip.MustParseAddr("2001:db8:5ba::10")},
		"orders.c9akciq32.eu-west-1.rds.amazonaws.com": {netip.MustParseAddr("198.18.0.10")},
		"dual.pgtriage.test":                           {netip.MustParseAddr("198.18.0.10"), netip.MustParseAddr("2001:db8:5ba::10")},
	})
	for _, tt := range []struct {
		name, host string
		client     *pgtest.Netns
		code       catalog.Code
		step       string
	}{
		{"IPv6-only server, IPv4-only client", "db.abcdefghijkl.supabase.co", v4only, catalog.NetIPv6OnlyServer, "pooler.supabase.com"},
		{"IPv4-only server, IPv6-only client", "orders.c9akciq32.eu-west-1.rds.amazonaws.com", v6only, catalog.NetIPv4OnlyServer, "--network-type DUAL"},
		{"both families, IPv6-only client", "dual.pgtriage.test", v6only, catalog.TCPUnreachable, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := check(t, fmt.Sprintf("host=%s user=app dbname=postgres connect_timeout=2", tt.host),
				Options{Resolver: d.Resolver(), Dial: tt.client.DialContext})
			expect(t, r, tt.code, 2)
			if !strings.Contains(r.Diagnosis.Evidence, "network is unreachable") {
				t.Errorf("evidence: %s", r.Diagnosis.Evidence)
			}
			if steps := strings.Join(r.Diagnosis.Steps, "\n"); !strings.Contains(steps, tt.step) {
				t.Errorf("steps lack %q:\n%s", tt.step, steps)
			}
		})
	}
}
