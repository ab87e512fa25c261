package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/internal/localpg"
)

// BouncerOptions configure a PgBouncer in front of a cluster. The zero value is session pooling with SCRAM
// authentication of no users, which admits nobody: list Users.
type BouncerOptions struct {
	// PoolMode is session (the default), transaction or statement.
	PoolMode string
	// AuthType is PgBouncer's auth_type; scram-sha-256 by default.
	AuthType string
	// Users are the clients PgBouncer admits (auth_file), by name, with their passwords.
	Users map[string]string
	// Databases are the database names PgBouncer knows, each sent to the cluster's database of the same name;
	// "postgres" when empty.
	Databases []string
	// ServerUser and ServerPassword are what PgBouncer logs in to the server with; empty means the client's own
	// name and, from Users, password.
	ServerUser, ServerPassword string
	// ClientTLS is client_tls_sslmode (disable when empty; allow, require, ...): a certificate for 127.0.0.1 and
	// localhost is issued by the cluster's CA, or a CA of its own when the cluster has none (see Bouncer.CAFile).
	ClientTLS string
	// ServerTLS is server_tls_sslmode, towards the cluster.
	ServerTLS string
	// MaxClientConn, PoolSize and QueryWaitTimeout are max_client_conn, default_pool_size and query_wait_timeout;
	// zero keeps PgBouncer's defaults (100, 20, 120 s).
	MaxClientConn    int
	PoolSize         int
	QueryWaitTimeout time.Duration
	// Settings are more [pgbouncer] lines (server_login_retry, ignore_startup_parameters, ...).
	Settings map[string]string
}

// Bouncer is a running PgBouncer that belongs to one test.
type Bouncer struct {
	Host   string
	Port   int
	CAFile string // the CA of the client-side certificate; "" without ClientTLS
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
}

// StartPgBouncer runs Debian's pgbouncer (or PGBOUNCER, or pgbouncer on PATH) on a free loopback port in front of
// c, as the postgres user when the tests run as root (PgBouncer refuses root). It returns once PgBouncer accepts
// connections; t.Cleanup stops it and removes its files, and prints the end of its log if the test failed. Without
// the program it skips the test (fails it under CI=true).
func StartPgBouncer(t testing.TB, c *Cluster, opts BouncerOptions) *Bouncer {
	t.Helper()
	bin, err := findPgBouncer()
	if err != nil {
		missing(t, "pgtest: %v", err)
	}
	dir, err := os.MkdirTemp("", "pgtriage-pgbouncer-") // not t.TempDir: the postgres user must reach it
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	b := &Bouncer{Host: "127.0.0.1", dir: dir, done: make(chan struct{})}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: find a free port: %v", err)
	}
	b.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	ini := b.config(t, c, opts)
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	var users strings.Builder
	for _, name := range sortedKeys(opts.Users) {
		fmt.Fprintf(&users, "%q %q\n", name, opts.Users[name])
	}
	if opts.ServerUser != "" && opts.Users[opts.ServerUser] == "" {
		fmt.Fprintf(&users, "%q %q\n", opts.ServerUser, opts.ServerPassword)
	}
	if err := os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(users.String()), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	b.cmd = exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	dieWithParent(b.cmd) // a test binary killed by go test -timeout takes its PgBouncer with it
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "pgtest: running as root, but there is no postgres user to run pgbouncer as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = filepath.Walk(dir, func(path string, _ os.FileInfo, _ error) error { return os.Chown(path, uid, gid) })
		runAs(b.cmd, uid, gid)
	}
	var out strings.Builder
	b.cmd.Stdout, b.cmd.Stderr = &out, &out
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("pgtest: start pgbouncer: %v", err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: end of the pgbouncer log:\n%s", b.LogTail(40))
		}
		b.stop()
	})
	addr := net.JoinHostPort(b.Host, strconv.Itoa(b.Port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.Close()
			return b
		}
		select {
		case <-b.done:
			t.Fatalf("pgtest: pgbouncer exited: %s%s", out.String(), b.LogTail(20))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: pgbouncer did not listen on %s within 15s: %s", addr, b.LogTail(20))
		}
	}
}

func (b *Bouncer) config(t testing.TB, c *Cluster, opts BouncerOptions) string {
	var ini strings.Builder
	ini.WriteString("[databases]\n")
	dbs := opts.Databases
	if len(dbs) == 0 {
		dbs = []string{"postgres"}
	}
	for _, db := range dbs {
		fmt.Fprintf(&ini, "%s = host=%s port=%d dbname=%s", db, c.Host, c.Port, db)
		if opts.ServerUser != "" {
			fmt.Fprintf(&ini, " user=%s", opts.ServerUser)
		}
		if opts.ServerPassword != "" {
			fmt.Fprintf(&ini, " password=%s", opts.ServerPassword)
		}
		ini.WriteString("\n")
	}
	settings := map[string]string{
		"listen_addr":     b.Host,
		"listen_port":     strconv.Itoa(b.Port),
		"unix_socket_dir": "",
		"auth_type":       "scram-sha-256",
		"auth_file":       filepath.Join(b.dir, "userlist.txt"),
		"pool_mode":       "session",
		"logfile":         filepath.Join(b.dir, "pgbouncer.log"),
		"pidfile":         filepath.Join(b.dir, "pgbouncer.pid"),
		// The tests make the server fail on purpose: PgBouncer should try again soon after.
		"server_login_retry": "1",
	}
	set := func(k, v string) {
		if v != "" && v != "0" {
			settings[k] = v
		}
	}
	set("pool_mode", opts.PoolMode)
	set("auth_type", opts.AuthType)
	set("max_client_conn", strconv.Itoa(opts.MaxClientConn))
	set("default_pool_size", strconv.Itoa(opts.PoolSize))
	if opts.QueryWaitTimeout > 0 {
		settings["query_wait_timeout"] = strconv.FormatFloat(opts.QueryWaitTimeout.Seconds(), 'f', -1, 64)
	}
	if opts.ClientTLS != "" && opts.ClientTLS != "disable" {
		ca := c.CA
		if ca == nil {
			ca = NewCA(t)
		}
		b.CAFile = ca.File
		cert, key := ca.Issue(t, []string{"localhost", "127.0.0.1"}, time.Time{}, time.Time{})
		settings["client_tls_sslmode"] = opts.ClientTLS
		settings["client_tls_cert_file"] = b.copyFile(t, cert, "client-side.crt")
		settings["client_tls_key_file"] = b.copyFile(t, key, "client-side.key")
	}
	if opts.ServerTLS != "" {
		settings["server_tls_sslmode"] = opts.ServerTLS
		if c.CAFile != "" {
			settings["server_tls_ca_file"] = b.copyFile(t, c.CAFile, "server-ca.crt")
		}
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	ini.WriteString("\n[pgbouncer]\n")
	for _, k := range sortedKeys(settings) {
		fmt.Fprintf(&ini, "%s = %s\n", k, settings[k])
	}
	return ini.String()
}

// copyFile copies a file into the bouncer's directory (which the postgres user owns) and returns the new path.
func (b *Bouncer) copyFile(t testing.TB, src, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	dst := filepath.Join(b.dir, name)
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dst
}

// ConnString returns a keyword/value connection string to the bouncer, as Cluster.ConnString does to a cluster.
func (b *Bouncer) ConnString(kv ...string) string {
	return (&localpg.Cluster{Host: b.Host, Port: b.Port}).ConnString(kv...)
}

// PID is PgBouncer's process id, for a benchmark that measures its CPU time.
func (b *Bouncer) PID() int { return b.cmd.Process.Pid }

// LogTail returns the last n lines of PgBouncer's log.
func (b *Bouncer) LogTail(n int) string {
	data, _ := os.ReadFile(filepath.Join(b.dir, "pgbouncer.log"))
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop ends PgBouncer with SIGTERM (its immediate shutdown; SIGINT would wait for clients) and SIGKILL if it lingers.
func (b *Bouncer) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// findPgBouncer looks for PGBOUNCER, Debian's /usr/sbin/pgbouncer, then pgbouncer on PATH.
func findPgBouncer() (string, error) {
	if p := os.Getenv("PGBOUNCER"); p != "" {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer", nil
	}
	p, err := exec.LookPath("pgbouncer")
	if err != nil {
		return "", errors.New("no pgbouncer: install Debian's pgbouncer package or set PGBOUNCER")
	}
	return p, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FillClients opens connections with connString, each kept open until the test ends, until PgBouncer refuses
// one (max_client_conn; how many fit depends on when PgBouncer stops counting a closed one), and returns that
// refusal.
func (b *Bouncer) FillClients(t testing.TB, connString string) error {
	t.Helper()
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := pgconn.Connect(ctx, connString)
		cancel()
		if err != nil {
			return err
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	t.Fatal("pgtest: PgBouncer took 10 connections")
	return nil
}
