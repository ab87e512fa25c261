package pgtest_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

func connect(t *testing.T, connString string) (*pgconn.PgConn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, connString)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

// wantCode fails unless err is a server error with the SQLSTATE code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("got error %v, want SQLSTATE %s", err, code)
	}
}

func TestStartTLSVerifyFull(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{
		TLS: true,
		HBA: []string{"local all all trust",
			"hostssl all all 127.0.0.1/32 scram-sha-256", "hostssl all all ::1/128 scram-sha-256"},
		Roles: []pgtest.Role{{Name: "app", Password: "it's secret"}},
	})
	if c.Version < 12 || c.CAFile == "" {
		t.Fatalf("Version = %d, CAFile = %q", c.Version, c.CAFile)
	}
	conn, err := connect(t, c.ConnString("host=localhost", "user=app", "password=it's secret", "dbname=postgres",
		"sslmode=verify-full", "sslrootcert="+c.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	res, err := conn.Exec(context.Background(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").ReadAll()
	if err != nil || string(res[0].Rows[0][0]) != "t" {
		t.Fatalf("ssl in use: %v, %v", res, err)
	}

	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		l.Close()
		if _, err := connect(t, c.ConnString("host=::1", "user=app", "password=it's secret", "dbname=postgres",
			"sslmode=verify-full", "sslrootcert="+c.CAFile)); err != nil {
			t.Errorf("over ::1: %v", err)
		}
	}

	// Without TLS no host line matches.
	_, err = connect(t, c.ConnString("user=app", "password=it's secret", "dbname=postgres", "sslmode=disable"))
	wantCode(t, err, "28000")
}

func TestClientCertificate(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{
		TLS:   true,
		HBA:   []string{"local all all trust", "hostssl all all 127.0.0.1/32 cert"},
		Roles: []pgtest.Role{{Name: "app"}},
	})
	cert, key := c.CA.Issue(t, []string{"app"}, time.Time{}, time.Time{})
	if _, err := connect(t, c.ConnString("user=app", "dbname=postgres", "sslmode=verify-ca",
		"sslrootcert="+c.CAFile, "sslcert="+cert, "sslkey="+key)); err != nil {
		t.Fatal(err)
	}
	// A certificate from another CA is not trusted by the server.
	cert, key = pgtest.NewCA(t).Issue(t, []string{"app"}, time.Time{}, time.Time{})
	if _, err := connect(t, c.ConnString("user=app", "dbname=postgres", "sslmode=verify-ca",
		"sslrootcert="+c.CAFile, "sslcert="+cert, "sslkey="+key)); err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}
}

func TestServerCertExpired(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{
		ServerCert: func(ca *pgtest.CA) (string, string) {
			return ca.Issue(t, []string{"localhost"}, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		},
		Roles: []pgtest.Role{{Name: "app", Password: "pw"}},
	})
	_, err := connect(t, c.ConnString("host=localhost", "user=app", "password=pw", "dbname=postgres",
		"sslmode=verify-full", "sslrootcert="+c.CAFile))
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Fatalf("got %v, want an expired certificate", err)
	}
}

func TestRolesDatabasesAndLimits(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{
		MaxConnections:      6,
		ReservedConnections: 2,
		Roles: []pgtest.Role{
			{Name: "one", Password: "pw", ConnLimit: 1},
			{Name: "blocked", Password: "pw", ConnLimit: -1},
			{Name: "nologin", Password: "pw", NoLogin: true},
			{Name: "app", Password: "pw"},
		},
		Databases: []pgtest.Database{
			{Name: "single", ConnLimit: 1},
			{Name: "closed", NoConnections: true},
		},
	})
	as := func(user, db string) string {
		return c.ConnString("user="+user, "password=pw", "dbname="+db, "sslmode=disable")
	}

	c.Hold(t, as("one", "postgres"))
	_, err := connect(t, as("one", "postgres"))
	wantCode(t, err, "53300") // too many connections for role

	_, err = connect(t, as("blocked", "postgres"))
	wantCode(t, err, "53300")

	_, err = connect(t, as("nologin", "postgres"))
	wantCode(t, err, "28000")

	c.Hold(t, as("app", "single"))
	_, err = connect(t, as("app", "single"))
	wantCode(t, err, "53300") // too many connections for database

	_, err = connect(t, as("app", "closed"))
	wantCode(t, err, "55000")

	// Two sessions are held; two more fill the 4 non-reserved slots.
	c.Hold(t, as("app", "postgres"))
	c.Hold(t, as("app", "postgres"))
	_, err = connect(t, as("app", "postgres"))
	wantCode(t, err, "53300")
	if !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("got %v, want the reserved slots message", err)
	}
	c.Exec(t, "SELECT 1") // the superuser still gets a reserved slot
}

func TestStopSmart(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "pw"}}})
	c.Hold(t, c.ConnString("user=app", "password=pw", "dbname=postgres"))
	c.StopSmart(t)
	_, err := connect(t, c.ConnString("user=app", "password=pw", "dbname=postgres"))
	wantCode(t, err, "57P03")
	if !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("got %v, want shutting down", err)
	}
}

// BenchmarkStart measures one cluster's start, TLS included; the clusters
// stop when the benchmark ends, so keep -benchtime to a count (e.g. 10x).
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		pgtest.Start(b, pgtest.Options{TLS: true, Roles: []pgtest.Role{{Name: "app", Password: "pw"}}})
	}
}

// TestCertHostsThroughDNS connects by a name that only the test's DNS server
// knows, which the server certificate covers through CertHosts.
func TestCertHostsThroughDNS(t *testing.T) {
	t.Parallel()
	d := pgtest.StartDNS(t, map[string][]netip.Addr{"db.pgtest.test": {netip.MustParseAddr("127.0.0.1")}})
	c := pgtest.Start(t, pgtest.Options{
		TLS:       true,
		CertHosts: []string{"db.pgtest.test"},
		Roles:     []pgtest.Role{{Name: "app", Password: "pw"}},
	})
	config, err := pgconn.ParseConfig(c.ConnString("host=db.pgtest.test", "user=app", "password=pw",
		"dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	config.LookupFunc = d.Resolver().LookupHost
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
}

func TestServerCertWrongName(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{
		ServerCert: func(ca *pgtest.CA) (string, string) {
			return ca.Issue(t, []string{"other.pgtest.test"}, time.Time{}, time.Time{})
		},
		Roles: []pgtest.Role{{Name: "app", Password: "pw"}},
	})
	_, err := connect(t, c.ConnString("host=localhost", "user=app", "password=pw", "dbname=postgres",
		"sslmode=verify-full", "sslrootcert="+c.CAFile))
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Fatalf("got %v, want a hostname mismatch", err)
	}
}

// TestLifeCycle stops a server fast (sessions get 57P01), sees it refuse, resumes it on the same port, and restarts
// it: what the outage and retry tests build on.
func TestLifeCycle(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{})
	held, err := connect(t, c.SuperuserConnString())
	if err != nil {
		t.Fatal(err)
	}
	// A session busy in a query reads the server's last word; an idle one would see a closed socket when it next
	// writes.
	done := make(chan error, 1)
	go func() {
		_, err := held.Exec(context.Background(), "SELECT pg_sleep(60)").ReadAll()
		done <- err
	}()
	waitActive(t, c, "SELECT pg_sleep(60)")
	c.Stop(t, "fast")
	wantCode(t, <-done, "57P01")
	if _, err := connect(t, c.ConnString("user=postgres", "dbname=postgres")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect to a stopped server: %v, want connection refused", err)
	}

	c.Resume(t)
	before := startTime(t, c)
	c.Restart(t, "fast")
	if after := startTime(t, c); !after.After(before) {
		t.Fatalf("start time %v after a restart, was %v", after, before)
	}
}

func startTime(t *testing.T, c *pgtest.Cluster) time.Time {
	t.Helper()
	conn, err := connect(t, c.SuperuserConnString())
	if err != nil {
		t.Fatal(err)
	}
	res, err := conn.Exec(context.Background(), "SELECT extract(epoch FROM pg_postmaster_start_time())::float8::text").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.ParseFloat(string(res[0].Rows[0][0]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(0, int64(secs*1e9))
}

// waitActive waits until a session runs the query.
func waitActive(t *testing.T, c *pgtest.Cluster, query string) {
	t.Helper()
	conn, err := connect(t, c.SuperuserConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	pgtest.WaitFor(t, "a session running "+query, func() bool {
		res, err := conn.Exec(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE query = '"+query+"'").ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return string(res[0].Rows[0][0]) != "0"
	})
}
