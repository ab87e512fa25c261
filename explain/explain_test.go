package explain

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
)

type summary struct {
	code      catalog.Code
	count     int
	firstLine int
}

func summarise(ms []Match) []summary {
	var out []summary
	for _, m := range ms {
		out = append(out, summary{m.Code, m.Count, m.FirstLine})
	}
	return out
}

func TestServerLog(t *testing.T) {
	log := `2026-11-24 18:10:40.001 UTC [4600] LOG:  checkpoint starting: time
2026-11-24 18:10:41.002 UTC [4601] LOG:  connection received: host=10.0.0.5 port=52344
2026-11-24 18:10:41.003 UTC [4601] FATAL:  password authentication failed for user "app"
2026-11-24 18:10:41.003 UTC [4601] DETAIL:  Connection matched pg_hba.conf line 6: "host all all 10.0.0.0/8 scram-sha-256"
2026-11-24 18:10:42.100 UTC [4602] LOG:  duration: 0.321 ms  statement: SELECT 1
2026-11-24 18:10:43.003 UTC [4603] FATAL:  no pg_hba.conf entry for host "203.0.113.7", user "app", database "orders", no encryption
2026-11-24 18:10:44.003 UTC [4604] FATAL:  password authentication failed for user "app"
2026-11-24 18:10:44.003 UTC [4604] DETAIL:  Password does not match for user "app".
	Connection matched pg_hba.conf line 6: "host all all 10.0.0.0/8 scram-sha-256"
2026-11-24 18:10:45.000 UTC [4605] FATAL:  password authentication failed for user "ghost"
2026-11-24 18:10:45.000 UTC [4605] DETAIL:  Role "ghost" does not exist.
2026-11-24 18:10:46.000 UTC [4600] LOG:  checkpoint complete: wrote 3 buffers (0.0%)
2026-11-24 18:10:47.000 UTC [4606] FATAL:  password authentication failed for user "app"
`
	got := summarise(ScanText(log))
	want := []summary{{catalog.AuthPasswordFailed, 3, 3}, {catalog.AuthHBARejected, 1, 6}, {catalog.AuthRoleNotFound, 1, 10}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	ms := ScanText(log)
	hba := ms[1]
	if !strings.Contains(strings.Join(hba.Steps, "\n"), "hostssl orders app 203.0.113.7/32") {
		t.Errorf("hba steps lack the facts of the message: %q", hba.Steps)
	}
	if ms[0].Evidence != "2026-11-24 18:10:41.003 UTC [4601] FATAL:  password authentication failed for user \"app\"\n2026-11-24 18:10:41.003 UTC [4601] DETAIL:  Connection matched pg_hba.conf line 6: \"host all all 10.0.0.0/8 scram-sha-256\"" {
		t.Errorf("evidence: %q", ms[0].Evidence)
	}
	if !strings.Contains(ms[2].Summary, `ghost`) {
		t.Errorf("summary lacks the role: %q", ms[2].Summary)
	}
}

func TestJavaStackTrace(t *testing.T) {
	trace := `2024-03-01 12:00:00 ERROR [main] o.h.e.j.s.SqlExceptionHelper - Connection attempt failed
org.postgresql.util.PSQLException: The connection attempt failed.
	at org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:354)
	at org.postgresql.core.ConnectionFactory.openConnection(ConnectionFactory.java:54)
	at org.postgresql.jdbc.PgConnection.<init>(PgConnection.java:263)
	... 12 common frames omitted
Caused by: java.net.UnknownHostException: db.internal.example
	at java.base/sun.nio.ch.NioSocketImpl.connect(NioSocketImpl.java:567)
	at java.base/java.net.Socket.connect(Socket.java:633)
2024-03-01 12:00:01 INFO  [main] c.e.App - retrying
`
	ms := ScanText(trace)
	if got := summarise(ms); fmt.Sprint(got) != fmt.Sprint([]summary{{catalog.DNSNotFound, 1, 2}}) {
		t.Fatalf("got %v", got)
	}
	if want := "org.postgresql.util.PSQLException: The connection attempt failed.\n…\nCaused by: java.net.UnknownHostException: db.internal.example"; ms[0].Evidence != want {
		t.Errorf("evidence %q, want %q", ms[0].Evidence, want)
	}
}

func TestPythonTraceback(t *testing.T) {
	tb := `Traceback (most recent call last):
  File "/app/main.py", line 12, in <module>
    conn = psycopg2.connect(dsn)
  File "/usr/lib/python3/dist-packages/psycopg2/__init__.py", line 122, in connect
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
psycopg2.OperationalError: connection to server at "db.example.com" (10.0.0.9), port 5432 failed: FATAL:  too many connections for role "reporting"

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/main.py", line 14, in <module>
    raise RuntimeError("database down")
RuntimeError: database down
`
	ms := ScanText(tb)
	if got := summarise(ms); fmt.Sprint(got) != fmt.Sprint([]summary{{catalog.LimitsRoleLimit, 1, 1}}) {
		t.Fatalf("got %v", got)
	}
	if !strings.Contains(ms[0].Evidence, "too many connections for role") || !strings.HasPrefix(ms[0].Evidence, "Traceback") {
		t.Errorf("evidence %q", ms[0].Evidence)
	}
	if !strings.Contains(strings.Join(ms[0].Steps, "\n"), "usename = 'reporting'") {
		t.Errorf("steps lack the role: %q", ms[0].Steps)
	}
}

// libpq's attempts, pgx's tab-indented attempts and a psql session cut by the server are each one message.
func TestClientMultiLineMessages(t *testing.T) {
	text := "psql: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"app\"\n" +
		"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"app\"\n" +
		"failed to connect to `user=app database=orders`:\n\t127.0.0.1:5 (127.0.0.1): dial error: dial tcp 127.0.0.1:5: connect: connection refused\n" +
		"\t127.0.0.1:5 (127.0.0.1): dial error: dial tcp 127.0.0.1:5: connect: connection refused\n"
	got := summarise(ScanText(text))
	if want := []summary{{catalog.AuthPasswordFailed, 1, 1}, {catalog.TCPRefused, 1, 3}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestNothingRecognised(t *testing.T) {
	for _, text := range []string{"", "\n\n", "LOG:  checkpoint starting: time\n", "ERROR:  division by zero", "\x00\xff\xfe binary \x01"} {
		if ms := ScanText(text); len(ms) != 0 {
			t.Errorf("ScanText(%q) = %v, want nothing", text, summarise(ms))
		}
	}
}

// A line over the limit is cut, not an error, and what follows it is still read.
func TestLongLine(t *testing.T) {
	text := "FATAL:  sorry, too many clients already " + strings.Repeat("x", 3*maxLine) + "\n" +
		"FATAL:  the database system is starting up\n"
	ms, err := Scan(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := summarise(ms); fmt.Sprint(got) != fmt.Sprint([]summary{{catalog.LimitsTooManyConnections, 1, 1}, {catalog.ServerStartingUp, 1, 2}}) {
		t.Fatalf("got %v", got)
	}
	if len(ms[0].Evidence) > 2*evidenceBytes {
		t.Errorf("evidence of %d bytes", len(ms[0].Evidence))
	}
}

// mixedLog writes a server log of about size bytes: mostly ordinary lines (checkpoints, connections, durations,
// autovacuum) and a few percent FATAL/ERROR lines about connections.
func mixedLog(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	ordinary := []string{
		"LOG:  connection received: host=10.0.%d.%d port=%d",
		"LOG:  connection authorized: user=app database=orders application_name=orders-api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
		"LOG:  disconnection: session time: 0:00:%02d.%03d user=app database=orders host=10.0.3.%d port=%d",
		"LOG:  duration: %d.%03d ms  statement: SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > now() - interval '1 day' LIMIT %d",
		"LOG:  duration: %d.%03d ms  execute <unnamed>: UPDATE accounts SET balance = balance - $1 WHERE id = $2",
		"LOG:  checkpoint starting: time",
		"LOG:  checkpoint complete: wrote %d buffers (%d.%d%%); 0 WAL file(s) added, 0 removed, 1 recycled; write=26.%03d s, sync=0.004 s, total=26.9 s; sync files=52, longest=0.002 s, average=0.001 s; distance=9876 kB, estimate=10240 kB",
		"LOG:  automatic vacuum of table \"orders.public.order_items\": index scans: %d",
		"LOG:  automatic analyze of table \"orders.public.customers\" system usage: CPU: user: 0.%02d s, system: 0.00 s, elapsed: 0.%02d s",
	}
	failing := []string{
		"FATAL:  password authentication failed for user \"app\"",
		"FATAL:  no pg_hba.conf entry for host \"203.0.113.%d\", user \"app\", database \"orders\", no encryption",
		"FATAL:  sorry, too many clients already",
		"FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute",
		"LOG:  could not receive data from client: Connection reset by peer",
		"FATAL:  terminating connection due to idle-session timeout",
		"ERROR:  cannot execute UPDATE in a read-only transaction",
	}
	var b bytes.Buffer
	t := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	for b.Len() < size {
		t = t.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
		pid := 1000 + rng.IntN(30000)
		fmt.Fprintf(&b, "%s UTC [%d] ", t.Format("2006-01-02 15:04:05.000"), pid)
		if rng.IntN(100) < 3 {
			f := failing[rng.IntN(len(failing))]
			if strings.Contains(f, "%d") {
				f = fmt.Sprintf(f, rng.IntN(255))
			}
			b.WriteString(f)
		} else {
			f := ordinary[rng.IntN(len(ordinary))]
			args := []any{rng.IntN(1000), rng.IntN(1000), rng.IntN(65536), rng.IntN(100)}
			b.WriteString(fmt.Sprintf(f, args[:strings.Count(f, "%")-strings.Count(f, "%%")*2]...))
		}
		b.WriteByte('\n')
		if rng.IntN(50) == 0 {
			b.WriteString("\tpages: 0 removed, 1234 remain, 56 scanned (4.54% of total)\n")
		}
	}
	return b.Bytes()
}

// BenchmarkScan reads a mixed server log (see mixedLog); the goal is at least 100 MB/s on one core:
//
//	go test -run '^$' -bench Scan -cpu 1 ./explain
func BenchmarkScan(b *testing.B) {
	log := mixedLog(32 << 20)
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ms, err := Scan(bytes.NewReader(log))
		if err != nil || len(ms) != 7 {
			b.Fatalf("got %d matches (%v), want 7", len(ms), err)
		}
	}
}

func TestMixedLog(t *testing.T) {
	log := mixedLog(1 << 20)
	ms := ScanText(string(log))
	if len(ms) != 7 {
		t.Fatalf("got %v", summarise(ms))
	}
	total := 0
	for _, m := range ms {
		total += m.Count
	}
	lines := bytes.Count(log, []byte("\n"))
	if total < lines/100 || total > lines/10 {
		t.Errorf("%d messages recognised in %d lines", total, lines)
	}
}

// TestEvidenceHidesPasswords: an error that quotes a connection string is shown back without its password.
func TestEvidenceHidesPasswords(t *testing.T) {
	ms := ScanText(`psql: error: connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  password authentication failed for user "app" (conninfo: postgres://app:Hunter2pw@db:5432/orders password=Hunter2pw)`)
	if len(ms) != 1 || ms[0].Code != catalog.AuthPasswordFailed {
		t.Fatalf("got %v, want one auth.password_failed", summarise(ms))
	}
	if strings.Contains(ms[0].Evidence, "Hunter2pw") || !strings.Contains(ms[0].Evidence, "postgres://app:********@db") {
		t.Errorf("evidence %q: want the password masked", ms[0].Evidence)
	}
}

// A role name from the text goes into the suggested SQL as one quoted identifier, not as more SQL.
func TestStepsQuoteNamesFromText(t *testing.T) {
	ms := ScanText(`psql: error: connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  role "x; DROP DATABASE orders; --" does not exist`)
	if len(ms) != 1 || ms[0].Code != catalog.AuthRoleNotFound {
		t.Fatalf("got %v, want one auth.role_not_found", summarise(ms))
	}
	steps := strings.Join(ms[0].Steps, "\n")
	if !strings.Contains(steps, "`CREATE ROLE \"x; DROP DATABASE orders; --\" LOGIN PASSWORD '...'`") || strings.Contains(steps, "CREATE ROLE x;") {
		t.Errorf("steps:\n%s\nwant the role quoted as an identifier", steps)
	}
}
