package probe

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/settings"
)

func check(t *testing.T, connString string, opts Options) *Report {
	t.Helper()
	s, err := settings.Load(connString)
	if err != nil {
		t.Fatalf("settings.Load(%q): %v", connString, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Trace = true
	return Run(ctx, s, opts)
}

// expect asserts the verdict and the exit code, and that no secret reached the report.
func expect(t *testing.T, r *Report, code catalog.Code, exit int) {
	t.Helper()
	js, _ := json.Marshal(r)
	if r.Diagnosis.Code != code || r.Status.ExitCode() != exit {
		t.Fatalf("got %s (exit %d), want %s (exit %d)\n%s", r.Diagnosis.Code, r.Status.ExitCode(), code, exit, js)
	}
	for _, secret := range []string{"s3cret-pw", "wrong-pw"} {
		if strings.Contains(string(js), secret) {
			t.Fatalf("the report contains the password %q:\n%s", secret, js)
		}
	}
	if len(r.Diagnosis.Steps) == 0 && code != catalog.OK {
		t.Fatalf("no steps for %s", code)
	}
}

func stageOf(r *Report, name StageName) *Stage {
	for i := range r.Stages {
		if r.Stages[i].Name == name {
			return &r.Stages[i]
		}
	}
	return nil
}

const appPassword = "s3cret-pw"

// TestTLSCluster runs the causes one TLS-enabled server can show: healthy, password and login problems, database
// problems and a role's connection limit.
func TestTLSCluster(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		TLS: true,
		Roles: []pgtest.Role{
			{Name: "app", Password: appPassword},
			{Name: "limited", Password: appPassword, ConnLimit: 1},
			{Name: "nologin", Password: appPassword, NoLogin: true},
		},
		Databases: []pgtest.Database{{Name: "orders"}, {Name: "frozen", NoConnections: true}},
	})
	full := func(kv ...string) string {
		return c.ConnString(append([]string{"host=localhost", "sslmode=verify-full", "sslrootcert=" + c.CAFile, "dbname=orders", "user=app", "password=" + appPassword}, kv...)...)
	}

	t.Run("healthy verify-full", func(t *testing.T) {
		r := check(t, full(), Options{})
		expect(t, r, catalog.OK, 0)
		if st := stageOf(r, "tls"); st == nil || st.Status != StageOK || !strings.Contains(st.Detail, "chain and host name verified") {
			t.Errorf("tls stage: %+v", st)
		}
		if r.Server == nil || r.Server.VersionNum < 100000 || !strings.HasPrefix(r.Server.TLS, "TLS") || r.Server.Connections.Max != 20 {
			t.Errorf("server facts: %+v", r.Server)
		}
		if a := r.Server.ClientAddress; a != "127.0.0.1" && a != "::1" {
			t.Errorf("client address %q", a)
		}
		if st := stageOf(r, "startup"); st == nil || !strings.Contains(st.Detail, "SCRAM-SHA-256") {
			t.Errorf("startup stage should name SCRAM-SHA-256: %+v", st)
		}
	})
	t.Run("channel binding required", func(t *testing.T) {
		r := check(t, full("channel_binding=require"), Options{})
		expect(t, r, catalog.OK, 0)
		bound := false
		for _, e := range r.Trace {
			bound = bound || strings.Contains(e.Message, "SASLInitialResponse SCRAM-SHA-256-PLUS")
		}
		if !bound {
			t.Errorf("the trace should show SCRAM-SHA-256-PLUS chosen: %+v", r.Trace)
		}
	})
	t.Run("allow starts without TLS", func(t *testing.T) {
		// The server offers TLS, but libpq's allow tries without it first, and the server admits that.
		r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=orders", "sslmode=allow"), Options{})
		expect(t, r, catalog.OK, 0)
		if r.Server.TLS != "" {
			t.Errorf("sslmode=allow should not use TLS when the server admits the client without: %+v", r.Server)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		r := check(t, full("password=wrong-pw"), Options{})
		expect(t, r, catalog.AuthPasswordFailed, 1)
		if r.Diagnosis.SQLState != "28P01" || stageOf(r, "auth").Status != StageFail {
			t.Errorf("want 28P01 at the auth stage: %+v", r.Diagnosis)
		}
	})
	t.Run("no password", func(t *testing.T) {
		r := check(t, full("password="), Options{})
		expect(t, r, catalog.AuthNoPassword, 1)
		for _, e := range r.Trace {
			if e.Direction == ">" && strings.Contains(e.Message, "password") {
				t.Errorf("a password message was sent: %+v", e)
			}
		}
		if !strings.Contains(r.Diagnosis.Evidence, "SCRAM-SHA-256") {
			t.Errorf("evidence should name the method: %s", r.Diagnosis.Evidence)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		other := pgtest.NewCA(t)
		r := check(t, full("sslrootcert="+other.File), Options{})
		expect(t, r, catalog.TLSUntrustedCert, 1)
	})
	t.Run("no root certificate file", func(t *testing.T) {
		// verify-full without sslrootcert: libpq looks for ~/.postgresql/root.crt, and HOME is empty here.
		conn := c.ConnString("host=localhost", "sslmode=verify-full", "dbname=orders", "user=app", "password="+appPassword)
		r := check(t, conn, Options{})
		expect(t, r, catalog.TLSUntrustedCert, 1)
		if !strings.Contains(r.Diagnosis.Evidence, "does not exist") {
			t.Errorf("evidence: %s", r.Diagnosis.Evidence)
		}
	})
	t.Run("direct TLS", func(t *testing.T) {
		r := check(t, full("sslnegotiation=direct"), Options{})
		if c.Version >= 17 {
			expect(t, r, catalog.OK, 0)
			return
		}
		expect(t, r, catalog.TLSHandshakeFailed, 2)
		if !strings.Contains(r.Diagnosis.Evidence, "sslnegotiation=direct") {
			t.Errorf("evidence: %s", r.Diagnosis.Evidence)
		}
	})
	t.Run("database does not exist", func(t *testing.T) {
		expect(t, check(t, full("dbname=nope"), Options{}), catalog.DBNotFound, 1)
	})
	t.Run("database not accepting connections", func(t *testing.T) {
		expect(t, check(t, full("dbname=frozen"), Options{}), catalog.DBNotAccepting, 1)
	})
	t.Run("role not permitted to log in", func(t *testing.T) {
		expect(t, check(t, full("user=nologin"), Options{}), catalog.AuthLoginNotPermitted, 1)
	})
	t.Run("role connection limit", func(t *testing.T) {
		c.Hold(t, full("user=limited"))
		r := check(t, full("user=limited"), Options{})
		expect(t, r, catalog.LimitsRoleLimit, 1)
	})
}

func TestTrustRoleNotFound(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{HBA: []string{"local all all trust", "host all all 127.0.0.1/32 trust", "host all all ::1/128 trust"}})
	r := check(t, c.ConnString("user=ghost", "dbname=postgres", "sslmode=disable"), Options{})
	expect(t, r, catalog.AuthRoleNotFound, 1)
	if st := stageOf(r, "startup"); st == nil || st.Status != StageOK {
		t.Errorf("trust admits the client at startup; the role check fails after: %+v", r.Stages)
	}
}

func TestNoHBAEntry(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		HBA:   []string{"local all all trust", "host postgres app 192.0.2.1/32 scram-sha-256"},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}},
	})
	r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"), Options{})
	expect(t, r, catalog.AuthHBARejected, 1)
	if !strings.Contains(strings.Join(r.Diagnosis.Steps, "\n"), "127.0.0.1/32") {
		t.Errorf("steps should name the client address the server saw: %q", r.Diagnosis.Steps)
	}
}

func TestHBARequiresTLS(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		TLS:   true,
		HBA:   []string{"local all all trust", "hostssl all all 127.0.0.1/32 scram-sha-256"},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}},
	})
	r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"), Options{})
	expect(t, r, catalog.TLSRequired, 1)
	// sslmode=allow tries without TLS, is refused, and succeeds with TLS, as libpq does.
	r = check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=allow"), Options{})
	expect(t, r, catalog.OK, 0)
	if r.Server.TLS == "" {
		t.Errorf("sslmode=allow should end over TLS here: %+v", r.Stages)
	}
}

func TestServerWithoutTLS(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=require"), Options{})
	expect(t, r, catalog.TLSNotSupported, 1)
	// sslmode=allow starts without TLS, as libpq, and stays so when the server admits it.
	r = check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=allow"), Options{})
	expect(t, r, catalog.OK, 0)
	if r.Server.TLS != "" || stageOf(r, "protocol").Status != StageSkip {
		t.Errorf("sslmode=allow should connect without TLS: %+v", r.Stages)
	}
}

// TestCleartextPassword: a real server that asks for the password in clear text (pg_hba.conf method password),
// without TLS, gets a warning finding whose steps name require_auth; the same server asking for SCRAM does not.
func TestCleartextPassword(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		HBA:   []string{"local all postgres trust", "host all scram 127.0.0.1/32 scram-sha-256", "host all all 127.0.0.1/32 password"},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}, {Name: "scram", Password: appPassword}},
	})
	cleartext := func(r *Report) *Finding {
		for i, f := range r.Findings {
			if f.Code == string(catalog.AuthCleartextPassword) {
				return &r.Findings[i]
			}
		}
		return nil
	}
	for _, mode := range []string{"prefer", "disable"} {
		r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode="+mode), Options{})
		expect(t, r, catalog.OK, 0)
		f := cleartext(r)
		if f == nil || f.Severity != "warning" || !strings.Contains(strings.Join(f.Steps, " "), "require_auth=") {
			t.Fatalf("sslmode=%s: no cleartext warning naming require_auth: %+v", mode, r.Findings)
		}
		var text strings.Builder
		_ = r.WriteText(&text, TextOptions{})
		if !strings.Contains(text.String(), "require_auth=scram-sha-256") {
			t.Errorf("the text output does not show the steps:\n%s", text.String())
		}
	}
	// A wrong password crossed the network in clear text all the same.
	r := check(t, c.ConnString("user=app", "password=wrong-pw", "dbname=postgres", "sslmode=prefer"), Options{})
	expect(t, r, catalog.AuthPasswordFailed, 1)
	if cleartext(r) == nil {
		t.Errorf("no cleartext warning after a failed password: %+v", r.Findings)
	}
	r = check(t, c.ConnString("user=scram", "password="+appPassword, "dbname=postgres", "sslmode=prefer"), Options{})
	expect(t, r, catalog.OK, 0)
	if f := cleartext(r); f != nil {
		t.Errorf("a cleartext warning for SCRAM: %+v", f)
	}
	// The step works: with require_auth the password is never sent.
	r = check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=prefer", "require_auth=scram-sha-256"), Options{})
	if r.Status == StatusOK || cleartext(r) != nil {
		t.Errorf("require_auth=scram-sha-256 did not stop the cleartext password: %s %+v", r.Diagnosis.Code, r.Findings)
	}
	t.Logf("with require_auth: %s: %s", r.Diagnosis.Code, r.Diagnosis.Evidence)
}

func TestCertificateNames(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		ServerCert: func(ca *pgtest.CA) (string, string) {
			return ca.Issue(t, []string{"db.other.example"}, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
		},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}},
	})
	r := check(t, c.ConnString("host=localhost", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile), Options{})
	expect(t, r, catalog.TLSHostnameMismatch, 1)
	if !strings.Contains(r.Diagnosis.Evidence, "db.other.example") {
		t.Errorf("evidence should name the certificate's names: %s", r.Diagnosis.Evidence)
	}
	// verify-ca checks the chain only, so the same server is fine.
	expect(t, check(t, c.ConnString("host=localhost", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=verify-ca", "sslrootcert="+c.CAFile), Options{}), catalog.OK, 0)
}

func TestCertificateExpired(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		ServerCert: func(ca *pgtest.CA) (string, string) {
			return ca.Issue(t, []string{"localhost"}, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}},
	})
	r := check(t, c.ConnString("host=localhost", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile), Options{})
	expect(t, r, catalog.TLSExpiredCert, 1)
}

func TestCertificateExpiresSoon(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		ServerCert: func(ca *pgtest.CA) (string, string) {
			return ca.Issue(t, []string{"localhost"}, time.Now().Add(-time.Hour), time.Now().Add(10*24*time.Hour))
		},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}},
	})
	r := check(t, c.ConnString("host=localhost", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile), Options{})
	expect(t, r, catalog.OK, 0)
	found := false
	for _, f := range r.Findings {
		found = found || f.Code == "tls.cert_expires_soon"
	}
	if !found || stageOf(r, "tls").Status != StageWarn {
		t.Errorf("want a tls.cert_expires_soon warning: %+v", r.Findings)
	}
}

// TestConnectionSlots fills a server with max_connections 5, 2 of them reserved for superusers: three ordinary
// sessions leave only reserved slots, two superuser sessions more leave none.
func TestConnectionSlots(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{MaxConnections: 5, ReservedConnections: 2, Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	app := c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable")
	for range 3 {
		c.Hold(t, app)
	}
	expect(t, check(t, app, Options{}), catalog.LimitsReservedSlots, 1)
	super := "host=" + c.SocketDir + " port=" + strconv.Itoa(c.Port) + " user=postgres dbname=postgres sslmode=disable"
	for range 2 {
		c.Hold(t, super)
	}
	expect(t, check(t, app, Options{}), catalog.LimitsTooManyConnections, 1)
}

func TestDatabaseConnectionLimit(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}, Databases: []pgtest.Database{{Name: "small", ConnLimit: 1}}})
	conn := c.ConnString("user=app", "password="+appPassword, "dbname=small", "sslmode=disable")
	c.Hold(t, conn)
	expect(t, check(t, conn, Options{}), catalog.LimitsDBLimit, 1)
}

func TestShuttingDown(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	conn := c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable")
	c.Hold(t, conn)
	c.StopSmart(t)
	r := check(t, conn, Options{})
	expect(t, r, catalog.ServerShuttingDown, 1)
	if !r.Diagnosis.Transient {
		t.Error("a shutdown is transient")
	}
}

func TestReadOnlyServer(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	c.Exec(t, "ALTER ROLE app SET default_transaction_read_only = on")
	conn := c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable", "target_session_attrs=read-write")
	expect(t, check(t, conn, Options{}), catalog.ServerReadOnly, 1)
}

func TestNothingListening(t *testing.T) {
	pgtest.Isolate(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := check(t, "host=127.0.0.1 user=app dbname=x port="+strconv.Itoa(port), Options{})
	expect(t, r, catalog.TCPRefused, 2)
}

func TestNameDoesNotResolve(t *testing.T) {
	pgtest.Isolate(t)
	dns := pgtest.StartDNS(t, map[string][]netip.Addr{"db.pgtriage.test": {netip.MustParseAddr("127.0.0.1")}})
	r := check(t, "host=nosuch.pgtriage.test user=app dbname=x", Options{Resolver: dns.Resolver()})
	expect(t, r, catalog.DNSNotFound, 2)
	dns.ServFail("flaky.pgtriage.test")
	r = check(t, "host=flaky.pgtriage.test user=app dbname=x connect_timeout=2", Options{Resolver: dns.Resolver()})
	expect(t, r, catalog.DNSFailed, 2)
}

func TestHTTPServerOnThePort(t *testing.T) {
	pgtest.Isolate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	u := strings.TrimPrefix(srv.URL, "http://")
	host, port, _ := net.SplitHostPort(u)
	for _, mode := range []string{"prefer", "disable"} {
		// connect_timeout=10: a time-out would be server.unresponsive, so the right code means the peer was named.
		r := check(t, "host="+host+" port="+port+" user=app dbname=x connect_timeout=10 sslmode="+mode, Options{})
		expect(t, r, catalog.ProtocolNotPostgres, 2)
		if !strings.Contains(r.Diagnosis.Evidence, "HTTP") {
			t.Errorf("sslmode=%s: evidence should say HTTP: %s", mode, r.Diagnosis.Evidence)
		}
	}
}

// fakePeer listens on loopback and treats every connection with serve: an SSH server, a silent or resetting peer.
func fakePeer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return "host=127.0.0.1 port=" + port + " user=app dbname=x"
}

func TestPeersThatAreNotPostgres(t *testing.T) {
	pgtest.Isolate(t)
	t.Run("ssh banner", func(t *testing.T) {
		conn := fakePeer(t, func(c net.Conn) {
			defer c.Close()
			c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
			c.Read(make([]byte, 100))
		})
		r := check(t, conn, Options{})
		expect(t, r, catalog.ProtocolNotPostgres, 2)
		if !strings.Contains(r.Diagnosis.Evidence, "SSH") {
			t.Errorf("evidence: %s", r.Diagnosis.Evidence)
		}
	})
	t.Run("silent", func(t *testing.T) {
		conn := fakePeer(t, func(c net.Conn) {
			defer c.Close()
			time.Sleep(5 * time.Second)
		})
		expect(t, check(t, conn+" connect_timeout=2", Options{}), catalog.ServerUnresponsive, 2)
	})
	t.Run("trickling", func(t *testing.T) {
		// Answers the SSLRequest, then sends an ErrorResponse a byte at a time: the deadline still holds.
		conn := fakePeer(t, func(c net.Conn) {
			defer c.Close()
			c.Read(make([]byte, 8))
			c.Write([]byte("N"))
			c.Read(make([]byte, 512))
			for _, b := range []byte("E\x00\x00\x00\x40SFATAL\x00C28000\x00Mslow\x00\x00") {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(300 * time.Millisecond)
			}
		})
		r := check(t, conn+" connect_timeout=2", Options{})
		expect(t, r, catalog.ServerUnresponsive, 1)
	})
	t.Run("slow but answering", func(t *testing.T) {
		// A server that needs a second to answer the startup is slow, not unresponsive: its answer counts.
		conn := fakePeer(t, func(c net.Conn) {
			defer c.Close()
			c.Read(make([]byte, 8))
			c.Write([]byte("N"))
			c.Read(make([]byte, 512))
			time.Sleep(time.Second)
			c.Write([]byte("E\x00\x00\x00\x33SFATAL\x00C28P01\x00Mpassword authentication failed\x00\x00"))
			c.Read(make([]byte, 512))
		})
		expect(t, check(t, conn+" connect_timeout=3 password=wrong-pw", Options{}), catalog.AuthPasswordFailed, 1)
	})
	t.Run("slow but answering, sslmode=disable", func(t *testing.T) {
		// Without an SSLRequest the probe asks a silent peer what it is on a second connection: a PostgreSQL that
		// answers it (N) is left to finish its slow startup.
		conn := fakePeer(t, func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 512)
			n, _ := c.Read(buf)
			if n == 8 && string(buf[4:8]) == "\x04\xd2\x16\x2f" {
				c.Write([]byte("N"))
				c.Read(buf)
				return
			}
			time.Sleep(time.Second)
			c.Write([]byte("E\x00\x00\x00\x33SFATAL\x00C28P01\x00Mpassword authentication failed\x00\x00"))
			c.Read(buf)
		})
		expect(t, check(t, conn+" connect_timeout=3 sslmode=disable password=wrong-pw", Options{}), catalog.AuthPasswordFailed, 1)
	})
	t.Run("reset", func(t *testing.T) {
		conn := fakePeer(t, func(c net.Conn) {
			c.Read(make([]byte, 8))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		})
		expect(t, check(t, conn, Options{}), catalog.ConnReset, 2)
	})
}

func TestFirewallDropsPackets(t *testing.T) {
	pgtest.Isolate(t)
	ns := pgtest.NewNetns(t)
	dropped, rejected := ns.Addr(t), ns.Addr(t)
	ns.Nft(t, `table inet pgtriage {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr `+dropped.String()+` tcp dport 5432 drop
    ip daddr `+rejected.String()+` tcp dport 5432 reject with icmp type host-unreachable
  }
}`)
	r := check(t, "host="+dropped.String()+" user=app dbname=x connect_timeout=2", Options{})
	expect(t, r, catalog.TCPTimeout, 2)
	r = check(t, "host="+rejected.String()+" user=app dbname=x connect_timeout=2", Options{})
	expect(t, r, catalog.TCPUnreachable, 2)
}

// TestMultiHostFailover is the old primary after a failover: the first host is read-only, the second read-write.
// With target_session_attrs=read-write the check connects to the second and says what happened to the first.
func TestMultiHostFailover(t *testing.T) {
	pgtest.Isolate(t)
	roles := []pgtest.Role{{Name: "app", Password: appPassword}}
	old, current := pgtest.Start(t, pgtest.Options{Roles: roles}), pgtest.Start(t, pgtest.Options{Roles: roles})
	old.Exec(t, "ALTER ROLE app SET default_transaction_read_only = on")
	conn := "host=127.0.0.1,127.0.0.1 port=" + strconv.Itoa(old.Port) + "," + strconv.Itoa(current.Port) +
		" user=app password=" + appPassword + " dbname=postgres sslmode=disable target_session_attrs=read-write"
	r := check(t, conn, Options{})
	expect(t, r, catalog.OK, 0)
	found := false
	for _, f := range r.Findings {
		found = found || (f.Code == string(catalog.ServerReadOnly) && strings.Contains(f.Summary, strconv.Itoa(old.Port)))
	}
	if !found || r.Server.ReadOnly {
		t.Errorf("want a server.read_only finding for port %d and a read-write server: %+v %+v", old.Port, r.Findings, r.Server)
	}
	// Without a read-write member, the verdict is the old primary's.
	r = check(t, strings.Replace(conn, strconv.Itoa(current.Port), strconv.Itoa(old.Port), 1), Options{})
	expect(t, r, catalog.ServerReadOnly, 1)
}

// TestOneAddressDown: the name has two addresses and the server listens on one. The check connects, and says the
// other address failed, whichever order the resolver gives them in.
func TestOneAddressDown(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	dns := pgtest.StartDNS(t, map[string][]netip.Addr{"db.pgtriage.test": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}})
	r := check(t, c.ConnString("host=db.pgtriage.test", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"), Options{Resolver: dns.Resolver()})
	expect(t, r, catalog.OK, 0)
	found := false
	for _, f := range r.Findings {
		found = found || (f.Code == string(catalog.TCPRefused) && strings.Contains(f.Summary, "127.0.0.2"))
	}
	if !found {
		t.Errorf("want a tcp.refused finding for 127.0.0.2: %+v", r.Findings)
	}
}

// TestAzureFirewallSteps: a server reached under an Azure host name (through the test's own DNS server) rejects the
// client in pg_hba, as Azure's gateway does for a client without a firewall rule. The steps speak Azure: the server
// name from the host, the client address from the server's message.
func TestAzureFirewallSteps(t *testing.T) {
	pgtest.Isolate(t)
	const host = "orders-db.postgres.database.azure.com"
	c := pgtest.Start(t, pgtest.Options{
		TLS: true, CertHosts: []string{host},
		HBA:   []string{"local all all trust", "hostssl all all 192.0.2.1/32 scram-sha-256"},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}},
	})
	dns := pgtest.StartDNS(t, map[string][]netip.Addr{host: {netip.MustParseAddr("127.0.0.1")}})
	r := check(t, c.ConnString("host="+host, "user=app", "password="+appPassword, "dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile), Options{Resolver: dns.Resolver()})
	expect(t, r, catalog.AuthHBARejected, 1)
	steps := strings.Join(r.Diagnosis.Steps, "\n")
	want := "az postgres flexible-server firewall-rule create --resource-group <resource-group> --name orders-db --rule-name allow-127-0-0-1 --start-ip-address 127.0.0.1 --end-ip-address 127.0.0.1"
	if !strings.Contains(steps, want) || r.Diagnosis.ClientAddress != "127.0.0.1" {
		t.Errorf("want the az command for 127.0.0.1 on orders-db:\n%s", steps)
	}
}

// TestTLSHandshakeFailure: a server that speaks only TLS 1.1 and older, which pgtriage (like libpq's default
// ssl_min_protocol_version) refuses.
func TestTLSHandshakeFailure(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{TLS: true, Conf: map[string]string{"ssl_min_protocol_version": "TLSv1", "ssl_max_protocol_version": "TLSv1.1"},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	r := check(t, c.ConnString("host=localhost", "user=app", "password="+appPassword, "dbname=postgres", "sslmode=require"), Options{})
	expect(t, r, catalog.TLSHandshakeFailed, 1)
}

// TestStandby runs against a real streaming standby: target_session_attrs in both directions, a standby's facts,
// and a standby with hot_standby off (57P03, in recovery).
func TestStandby(t *testing.T) {
	pgtest.Isolate(t)
	primary := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	standby := pgtest.Start(t, pgtest.Options{StandbyOf: primary})
	conn := func(c *pgtest.Cluster, tsa string) string {
		return c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable", "target_session_attrs="+tsa)
	}

	r := check(t, conn(standby, "any"), Options{})
	expect(t, r, catalog.OK, 0)
	if !r.Server.InRecovery || !r.Server.ReadOnly {
		t.Errorf("a standby is in recovery and read-only: %+v", r.Server)
	}
	expect(t, check(t, conn(standby, "primary"), Options{}), catalog.ServerReadOnly, 1)
	expect(t, check(t, conn(standby, "read-write"), Options{}), catalog.ServerReadOnly, 1)
	expect(t, check(t, conn(primary, "standby"), Options{}), catalog.ServerNotStandby, 1)
	expect(t, check(t, conn(standby, "standby"), Options{}), catalog.OK, 0)

	cold := pgtest.Start(t, pgtest.Options{StandbyOf: primary, Conf: map[string]string{"hot_standby": "off"}})
	r = check(t, conn(cold, "any"), Options{})
	expect(t, r, catalog.ServerRecovery, 1)
	if r.Diagnosis.SQLState != "57P03" || !r.Diagnosis.Transient {
		t.Errorf("want a transient 57P03: %+v", r.Diagnosis)
	}
}

// TestMethodUnsupported: the server asks for GSSAPI, which pgtriage (pgx without a GSS provider) cannot do.
func TestMethodUnsupported(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{HBA: []string{"local all all trust", "host all all 127.0.0.1/32 gss"},
		Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"), Options{})
	expect(t, r, catalog.AuthMethodUnsupported, 1)
	if !strings.Contains(r.Diagnosis.Evidence, "GSS") {
		t.Errorf("evidence should name the method: %s", r.Diagnosis.Evidence)
	}
}

// TestClientCertificates: pg_hba asks for a client certificate (cert method); without one the server refuses, with
// one from the server's CA for CN=app it admits.
func TestClientCertificates(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{TLS: true, HBA: []string{"local all all trust", "hostssl all all 127.0.0.1/32 cert"},
		Roles: []pgtest.Role{{Name: "app"}}})
	base := []string{"host=localhost", "user=app", "dbname=postgres", "sslmode=verify-full", "sslrootcert=" + c.CAFile}
	r := check(t, c.ConnString(base...), Options{})
	expect(t, r, catalog.TLSClientCertRequired, 1)
	cert, key := c.CA.Issue(t, []string{"app"}, time.Time{}, time.Time{})
	r = check(t, c.ConnString(append(base, "sslcert="+cert, "sslkey="+key)...), Options{})
	expect(t, r, catalog.OK, 0)
}

// TestUnixSocketPeer goes over the unix-domain socket, where pg_hba's peer method compares the operating-system user
// (the test's, not "app") with the role.
func TestUnixSocketPeer(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{HBA: []string{"local all postgres trust", "local all all peer"}, Roles: []pgtest.Role{{Name: "app"}}})
	r := check(t, "host="+c.SocketDir+" port="+strconv.Itoa(c.Port)+" user=app dbname=postgres", Options{})
	expect(t, r, catalog.AuthPeerFailed, 1)
	if st := stageOf(r, "tls"); st == nil || st.Status != StageSkip {
		t.Errorf("no TLS over a unix socket: %+v", r.Stages)
	}
	r = check(t, "host="+c.SocketDir+" port="+strconv.Itoa(c.Port)+" user=postgres dbname=postgres", Options{})
	expect(t, r, catalog.OK, 0)
}

// TestNoConnectPrivilege: the database revokes CONNECT from PUBLIC; the role authenticates, then is refused (42501).
func TestNoConnectPrivilege(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}, Databases: []pgtest.Database{{Name: "private"}}})
	c.Exec(t, "REVOKE CONNECT ON DATABASE private FROM PUBLIC")
	r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=private", "sslmode=disable"), Options{})
	expect(t, r, catalog.AuthNoConnectPrivilege, 1)
	if st := stageOf(r, "auth"); st == nil || st.Status != StageOK || stageOf(r, "server").Status != StageFail {
		t.Errorf("authenticated, then refused at the server stage: %+v", r.Stages)
	}
	if !strings.Contains(strings.Join(r.Diagnosis.Steps, "\n"), `GRANT CONNECT ON DATABASE "private" TO "app"`) {
		t.Errorf("steps: %q", r.Diagnosis.Steps)
	}
}

// TestSessionEndedAfterLogin: a server that ends the session right after the login (57P01 from a failover or
// pg_terminate_backend) is the verdict, not a connected server with missing facts. A real server cannot be made to
// do it on demand at the right moment, so the fault proxy in front of one does: its latency holds the probe's first
// query while a terminate ends the session, with the server's exact message.
func TestSessionEndedAfterLogin(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	sessions := make(chan struct{}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := faultproxy.Start(ctx, faultproxy.Config{Listen: "127.0.0.1:0", Upstream: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		OnEvent: func(e faultproxy.Event) {
			if e.Type == faultproxy.EventSession {
				select {
				case sessions <- struct{}{}:
				default:
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Add(faultproxy.Fault{Kind: faultproxy.KindLatency, Delay: faultproxy.Duration(2 * time.Second), Direction: faultproxy.Upstream}); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(p.Addr())
	done := make(chan *Report, 1)
	go func() {
		done <- check(t, "host="+host+" port="+port+" user=app dbname=postgres sslmode=disable connect_timeout=10 password="+appPassword, Options{})
	}()
	<-sessions
	if _, err := p.Add(faultproxy.Fault{Kind: faultproxy.KindTerminate}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	expect(t, r, catalog.ServerTerminated, 1)
	if st := stageOf(r, "server"); st == nil || st.Status != StageFail || r.Diagnosis.SQLState != "57P01" {
		t.Errorf("server stage %+v, sqlstate %q", st, r.Diagnosis.SQLState)
	}
}
