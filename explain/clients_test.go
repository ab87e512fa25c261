package explain

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/lib/pq" // the database/sql driver "postgres", captured for real

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

var capture = flag.Bool("capture", false, "run real clients against real servers and rewrite testdata/explain/clients*.jsonl")

// The captured outputs of real clients (TestCaptureClients) go through explain as the corpus does. clients.jsonl
// is the set the matchers were tuned on; holdout-clients.jsonl, other clients on the same failures, was measured
// before any tuning and is reported, not tuned on (see testdata/explain/README.md).
func TestExplainClients(t *testing.T) {
	if share := checkEntries(t, "clients.jsonl"); share < 0.9 {
		t.Errorf("captured client outputs: %.1f%% right, want at least 90%%", 100*share)
	}
	checkEntries(t, "holdout-clients.jsonl")
}

// failure is one row of the matrix: connection settings that make a real server (or PgBouncer) refuse, and the
// cause the setup guarantees.
type failureCase struct {
	name string
	code catalog.Code
	// params are libpq keywords; host and port come from target.
	params map[string]string
	target string // "tls" (the TLS cluster), "plain" (no TLS), "closed" (nothing listens), "bouncer", "wrongname"
	// per is the cause for a client whose behaviour makes it another one, on the wire: PgJDBC sends
	// extra_float_digits at startup, which PgBouncer refuses before anything else; lib/pq and pgx send an empty
	// password where libpq sends none, and the server refuses it.
	per map[string]catalog.Code
}

// client runs one failure and returns what it printed.
type captureClient struct {
	name    string
	holdout bool
	run     func(t *testing.T, host string, port int, p map[string]string) string
}

// TestCaptureClients runs each failure of check's matrix through every real client installed here (psycopg2 and 3,
// ruby-pg, PHP PDO, PgJDBC with its stack trace, lib/pq, pgx) and writes what each printed, with the expected code
// that the setup (not the matcher) decides. Run with -capture; the outputs are committed as corpus.
func TestCaptureClients(t *testing.T) {
	if !*capture {
		t.Skip("generator: run with -capture to rewrite testdata/explain/clients.jsonl and holdout-clients.jsonl")
	}
	pgtest.Isolate(t)
	const pw = "s3cret-pw"
	roles := []pgtest.Role{{Name: "app", Password: pw}, {Name: "nologin", Password: pw, NoLogin: true},
		{Name: "limited", Password: pw, ConnLimit: -1}, {Name: "blocked", Password: pw}}
	hba := []string{"local all all trust", "host all blocked 0.0.0.0/0 reject", "host all all 127.0.0.1/32 scram-sha-256", "host all all ::1/128 scram-sha-256"}
	tlsC := pgtest.Start(t, pgtest.Options{TLS: true, Roles: roles, HBA: hba, Databases: []pgtest.Database{{Name: "closed", NoConnections: true}}})
	plain := pgtest.Start(t, pgtest.Options{Roles: roles, HBA: hba})
	wrongName := pgtest.Start(t, pgtest.Options{Roles: roles, HBA: hba, ServerCert: func(ca *pgtest.CA) (string, string) {
		return ca.Issue(t, []string{"db.internal.example"}, time.Time{}, time.Time{})
	}})
	bouncer := pgtest.StartPgBouncer(t, plain, pgtest.BouncerOptions{Users: map[string]string{"app": pw}})
	otherCA := pgtest.NewCA(t)
	closedPort := func() int {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()
	targets := map[string]struct {
		port int
		ca   string
	}{
		"tls": {tlsC.Port, tlsC.CAFile}, "plain": {plain.Port, ""}, "closed": {closedPort, ""},
		"bouncer": {bouncer.Port, ""}, "wrongname": {wrongName.Port, wrongName.CAFile},
	}
	base := map[string]string{"user": "app", "password": pw, "dbname": "postgres", "sslmode": "disable", "connect_timeout": "5"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	cases := []failureCase{
		{"wrong password", catalog.AuthPasswordFailed, with("password", "wrong-pw"), "plain", nil},
		{"no password", catalog.AuthNoPassword, with("password", ""), "plain",
			map[string]catalog.Code{"lib/pq": catalog.AuthPasswordFailed, "pgx": catalog.AuthPasswordFailed}},
		{"database missing", catalog.DBNotFound, with("dbname", "nosuch"), "plain", nil},
		{"role nologin", catalog.AuthLoginNotPermitted, with("user", "nologin"), "plain", nil},
		{"role connection limit", catalog.LimitsRoleLimit, with("user", "limited"), "plain", nil},
		{"pg_hba reject", catalog.AuthHBARejected, with("user", "blocked"), "plain", nil},
		{"database not accepting", catalog.DBNotAccepting, with("dbname", "closed"), "tls", nil},
		{"nothing listening", catalog.TCPRefused, with(), "closed", nil},
		{"server without TLS", catalog.TLSNotSupported, with("sslmode", "require"), "plain", nil},
		{"untrusted certificate", catalog.TLSUntrustedCert, with("sslmode", "verify-full", "sslrootcert", otherCA.File), "tls", nil},
		{"certificate for another name", catalog.TLSHostnameMismatch, with("sslmode", "verify-full", "sslrootcert", "{ca}"), "wrongname", nil},
		{"PgBouncer: unknown database", catalog.PoolerDBNotFound, with("dbname", "nosuch"), "bouncer", jdbcBouncer},
		{"PgBouncer: wrong password", catalog.AuthPasswordFailed, with("password", "wrong-pw"), "bouncer", jdbcBouncer},
	}
	var tuned, held []corpusEntry
	for _, cl := range captureClients(t) {
		for _, fc := range cases {
			tg := targets[fc.target]
			p := map[string]string{}
			for k, v := range fc.params {
				p[k] = strings.ReplaceAll(v, "{ca}", tg.ca)
			}
			out := strings.TrimSpace(cl.run(t, "127.0.0.1", tg.port, p))
			for _, secret := range []string{pw, "wrong-pw"} {
				if strings.Contains(out, secret) {
					t.Fatalf("%s, %s: the output holds a password; redact before committing:\n%s", cl.name, fc.name, out)
				}
			}
			if out == "" {
				t.Logf("%s, %s: connected or printed nothing", cl.name, fc.name)
				continue
			}
			code := fc.code
			if c, ok := fc.per[cl.name]; ok {
				code = c
			}
			e := corpusEntry{Text: out, Client: cl.name, Code: code, Source: fmt.Sprintf(
				"captured by explain/clients_test.go TestCaptureClients (%s) against PostgreSQL %s / PgBouncer 1.18.0 (Debian 12): %s",
				clientVersion(cl.name), serverVersion, fc.name)}
			if cl.holdout {
				held = append(held, e)
			} else {
				tuned = append(tuned, e)
			}
		}
	}
	writeEntries(t, "clients.jsonl", tuned)
	writeEntries(t, "holdout-clients.jsonl", held)
}

const serverVersion = "15.18"

var jdbcBouncer = map[string]catalog.Code{"pgjdbc": catalog.PoolerUnsupportedParam}

func clientVersion(client string) string {
	return map[string]string{"psycopg2": "python3-psycopg2 2.9.5 on libpq 15", "psycopg3": "python3-psycopg 3.1.7 on libpq 15",
		"ruby-pg": "ruby-pg 1.4.5 on libpq 15", "php-pdo": "PHP 8.2 pdo_pgsql on libpq 15, zend.exception_ignore_args=1 as in php.ini-production",
		"pgjdbc": "PgJDBC 42.5.5 (Debian libpostgresql-jdbc-java), OpenJDK 17, printStackTrace", "lib/pq": "github.com/lib/pq v1.12.3 database/sql Ping",
		"pgx": "github.com/jackc/pgx/v5 v5.12.0 pgx.Connect"}[client]
}

func writeEntries(t *testing.T, name string, entries []corpusEntry) {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as the corpus is written: <init>, not \u003cinit\u003e
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join("..", "testdata", "explain", name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// libpqString renders the parameters as a libpq keyword/value string.
func libpqString(host string, port int, p map[string]string) string {
	parts := []string{"host=" + host, "port=" + strconv.Itoa(port)}
	for _, k := range []string{"user", "password", "dbname", "sslmode", "sslrootcert", "connect_timeout"} {
		if v, ok := p[k]; ok {
			parts = append(parts, k+"='"+v+"'")
		}
	}
	return strings.Join(parts, " ")
}

func runProgram(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out)
}

// lastLines keeps the end of a Python traceback: the frames of the -c script say nothing.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func captureClients(t *testing.T) []captureClient {
	dir := t.TempDir()
	java := `import java.sql.*; import java.util.*;
public class Capture { public static void main(String[] a) throws Exception {
  Properties p = new Properties();
  for (int i = 1; i + 1 < a.length; i += 2) p.setProperty(a[i], a[i+1]);
  try (Connection c = DriverManager.getConnection(a[0], p)) { } catch (SQLException e) { e.printStackTrace(); }
} }`
	if err := os.WriteFile(filepath.Join(dir, "Capture.java"), []byte(java), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("javac", "-d", dir, filepath.Join(dir, "Capture.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v %s", err, out)
	}
	py := "/usr/bin/python3"
	return []captureClient{
		{name: "psycopg2", run: func(t *testing.T, h string, port int, p map[string]string) string {
			return lastLines(runProgram(t, py, "-c", "import psycopg2,sys; psycopg2.connect(sys.argv[1])", libpqString(h, port, p)), 4)
		}},
		{name: "pgjdbc", run: func(t *testing.T, h string, port int, p map[string]string) string {
			url := fmt.Sprintf("jdbc:postgresql://%s:%d/%s", h, port, p["dbname"])
			args := []string{"-cp", dir + ":/usr/share/java/postgresql.jar", "Capture", url}
			for _, k := range []string{"user", "password", "sslmode", "sslrootcert"} {
				if v, ok := p[k]; ok {
					args = append(args, k, v)
				}
			}
			args = append(args, "connectTimeout", "5")
			return lastLinesFirst(runProgram(t, "java", args...), 25)
		}},
		{name: "lib/pq", run: func(t *testing.T, h string, port int, p map[string]string) string {
			db, err := sql.Open("postgres", libpqString(h, port, p))
			if err != nil {
				return err.Error()
			}
			defer db.Close()
			if err := db.Ping(); err != nil {
				return err.Error()
			}
			return ""
		}},
		{name: "pgx", run: func(t *testing.T, h string, port int, p map[string]string) string {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, libpqString(h, port, p))
			if err != nil {
				return err.Error()
			}
			conn.Close(ctx)
			return ""
		}},
		{name: "psycopg3", holdout: true, run: func(t *testing.T, h string, port int, p map[string]string) string {
			return lastLines(runProgram(t, py, "-c", "import psycopg,sys; psycopg.connect(sys.argv[1])", libpqString(h, port, p)), 4)
		}},
		{name: "ruby-pg", holdout: true, run: func(t *testing.T, h string, port int, p map[string]string) string {
			return lastLinesFirst(runProgram(t, "ruby", "-rpg", "-e", "PG.connect(ARGV[0])", libpqString(h, port, p)), 8)
		}},
		{name: "php-pdo", holdout: true, run: func(t *testing.T, h string, port int, p map[string]string) string {
			dsn := fmt.Sprintf("pgsql:host=%s;port=%d;dbname=%s;sslmode=%s", h, port, p["dbname"], p["sslmode"])
			if v, ok := p["sslrootcert"]; ok {
				dsn += ";sslrootcert=" + v
			}
			return lastLinesFirst(runProgram(t, "php", "-d", "zend.exception_ignore_args=1", "-d", "display_errors=stderr", "-r",
				`new PDO($argv[1], $argv[2], $argv[3] ?? null);`, dsn, p["user"], p["password"]), 8)
		}},
	}
}

// lastLinesFirst keeps the first n lines: a stack trace's head says what failed.
func lastLinesFirst(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
