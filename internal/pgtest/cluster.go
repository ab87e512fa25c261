package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Options is what a test needs of its cluster. The zero value is a plain
// cluster with the default pg_hba.conf.
type Options struct {
	// TLS generates a CA and a server certificate for localhost, 127.0.0.1,
	// ::1 and CertHosts, and turns ssl on. The CA is also ssl_ca_file, so
	// certificates it issues work as client certificates.
	TLS       bool
	CertHosts []string
	// ServerCert, when set, makes the server certificate instead (an expired
	// one, one for the wrong names, one from another CA) and implies TLS. The
	// files are copied, so they may live anywhere.
	ServerCert func(ca *CA) (certFile, keyFile string)

	// HBA replaces pg_hba.conf. The default trusts the unix socket and asks
	// TCP clients on 127.0.0.1 and ::1 for a SCRAM password.
	HBA []string

	// MaxConnections is max_connections; 0 means 20, smaller than
	// PostgreSQL's default to save memory.
	MaxConnections int
	// ReservedConnections is superuser_reserved_connections; 0 keeps
	// PostgreSQL's default (3). On PostgreSQL 16 and later set
	// Conf["reserved_connections"] for pg_use_reserved_connections.
	ReservedConnections int
	// Conf adds postgresql.conf settings; values are quoted for you.
	Conf map[string]string

	Roles     []Role
	Databases []Database

	// StandbyOf makes the cluster a streaming standby of another one (pg_basebackup -R over the primary's unix
	// socket) instead of a new cluster. Roles and databases come from the primary, so Roles and Databases must be
	// empty; Conf applies (hot_standby=off gives 57P03 "Hot standby mode is disabled").
	StandbyOf *Cluster
}

// Role is created with CREATE ROLE after the server starts.
type Role struct {
	Name     string
	Password string // "" for none
	NoLogin  bool
	// ConnLimit: 0 is unlimited, n > 0 allows n connections, and a negative
	// value means CONNECTION LIMIT 0 (no connection at all), which Go's zero
	// value could not say.
	ConnLimit int
	Superuser bool
}

// Database is created with CREATE DATABASE after the server starts.
type Database struct {
	Name string
	// ConnLimit reads as Role.ConnLimit does.
	ConnLimit     int
	NoConnections bool // ALLOW_CONNECTIONS false: 55000 for every client
}

// Cluster is a running server that belongs to one test.
type Cluster struct {
	Host      string // "127.0.0.1"
	Port      int
	Dir       string // holds data/, the socket, the certificates and postgres.log
	SocketDir string
	CAFile    string // PEM of the CA that signed the server certificate; "" without TLS
	CA        *CA    // nil without TLS
	Version   int    // major version, e.g. 15

	srv  *server
	data string
}

var defaultHBA = []string{
	"local all all trust",
	"local replication all trust", // for a standby's pg_basebackup and streaming
	"host all all 127.0.0.1/32 scram-sha-256",
	"host all all ::1/128 scram-sha-256",
}

// Start creates and starts a cluster; t.Cleanup stops it at once and removes
// its files, and prints the end of the server log if the test failed. Without
// server binaries it skips the test; with a PG_BINDIR that has none it fails.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	srv, err := findServer()
	if errors.Is(err, errNoServer) {
		missing(t, "pgtest: %v", err)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	sweep()
	// Not t.TempDir: its parents are private to root, and the server user
	// must reach the directory.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("pgtest: %v", err)
	}
	c := &Cluster{Host: "127.0.0.1", Dir: dir, SocketDir: dir, srv: srv, data: filepath.Join(dir, "data")}
	t.Cleanup(func() { c.cleanup(t) })
	if err := srv.own(dir); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if p := opts.StandbyOf; p != nil {
		if len(opts.Roles)+len(opts.Databases) > 0 {
			t.Fatalf("pgtest: a standby takes its roles and databases from the primary")
		}
		if err := srv.run(dir, "pg_basebackup", "-D", c.data, "-h", p.SocketDir, "-p", strconv.Itoa(p.Port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast"); err != nil {
			t.Fatalf("pgtest: standby: %v", err)
		}
	} else if err := srv.initdb(c.data); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	version, err := os.ReadFile(filepath.Join(c.data, "PG_VERSION"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.Version, _ = strconv.Atoi(strings.TrimSpace(string(version)))

	conf := map[string]string{
		"unix_socket_directories": dir,
		"max_connections":         "20",
		"shared_buffers":          "16MB",
		// A throwaway cluster needs no durability, and flushing to disk
		// would slow every CREATE DATABASE and every test.
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		"autovacuum":         "off",
		"log_connections":    "on",
	}
	if opts.MaxConnections > 0 {
		conf["max_connections"] = strconv.Itoa(opts.MaxConnections)
	}
	if opts.ReservedConnections > 0 {
		conf["superuser_reserved_connections"] = strconv.Itoa(opts.ReservedConnections)
	}
	conf["listen_addresses"] = "127.0.0.1"
	if hasIPv6Loopback() {
		conf["listen_addresses"] = "127.0.0.1,::1"
	}
	if opts.TLS || opts.ServerCert != nil {
		c.setUpTLS(t, opts, conf)
	}
	for k, v := range opts.Conf {
		conf[k] = v
	}
	hba := opts.HBA
	if hba == nil {
		hba = defaultHBA
	}
	if err := srv.writeFile(filepath.Join(c.data, "pg_hba.conf"), []byte(strings.Join(hba, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	// Another process may take the free port before the server binds it.
	for attempt := 1; ; attempt++ {
		c.Port = freePort(t)
		conf["port"] = strconv.Itoa(c.Port)
		if err := c.writeConf(conf); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		err := srv.run(dir, "pg_ctl", "start", "-w", "-t", "30", "-D", c.data, "-l", c.logFile())
		if err == nil {
			break
		}
		log, _ := os.ReadFile(c.logFile())
		if attempt == 3 || !bytes.Contains(log, []byte("already in use")) {
			t.Fatalf("pgtest: start server: %v", err)
		}
	}

	for _, r := range opts.Roles {
		c.Exec(t, createRole(r))
	}
	for _, d := range opts.Databases {
		c.Exec(t, createDatabase(d))
	}
	if opts.StandbyOf == nil { // a standby had no set-up sessions, and with hot_standby=off it admits none
		c.settle(t)
	}
	return c
}

// settle waits until the sessions of the set-up are gone: a backend exits a moment after its client closes, and a
// test that counts connection slots must start from none in use.
func (c *Cluster) settle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, c.superuser())
	if err != nil {
		t.Fatalf("pgtest: connect as superuser: %v", err)
	}
	defer conn.Close(context.Background())
	for {
		res, err := conn.Exec(ctx, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").ReadAll()
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		if len(res) > 0 && len(res[0].Rows) > 0 && string(res[0].Rows[0][0]) == "0" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pgtest: set-up sessions still open after 10s")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// setUpTLS puts the CA, the server certificate and its key into the cluster
// directory, owned by the server user, and adds the ssl settings to conf.
func (c *Cluster) setUpTLS(t testing.TB, opts Options, conf map[string]string) {
	t.Helper()
	c.CA = NewCA(t)
	c.CAFile = c.CA.File
	var certFile, keyFile string
	if opts.ServerCert != nil {
		certFile, keyFile = opts.ServerCert(c.CA)
	} else {
		hosts := append([]string{"localhost", "127.0.0.1", "::1"}, opts.CertHosts...)
		certFile, keyFile = c.CA.Issue(t, hosts, time.Time{}, time.Time{})
	}
	for _, f := range []struct {
		from, to string
		mode     os.FileMode
	}{
		{certFile, "server.crt", 0o644},
		{keyFile, "server.key", 0o600}, // postgres refuses a key that others can read
	} {
		b, err := os.ReadFile(f.from)
		if err != nil {
			t.Fatalf("pgtest: server certificate: %v", err)
		}
		if err := c.srv.writeFile(filepath.Join(c.Dir, f.to), b, f.mode); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	if err := c.srv.writeFile(filepath.Join(c.Dir, "ca.crt"), c.CA.CertPEM, 0o644); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	conf["ssl"] = "on"
	conf["ssl_cert_file"] = filepath.Join(c.Dir, "server.crt")
	conf["ssl_key_file"] = filepath.Join(c.Dir, "server.key")
	conf["ssl_ca_file"] = filepath.Join(c.Dir, "ca.crt")
}

// writeConf appends the settings to initdb's postgresql.conf (the last
// setting of a name wins), every value quoted, which postgres accepts for
// any type.
func (c *Cluster) writeConf(conf map[string]string) error {
	initial, err := os.ReadFile(filepath.Join(c.data, "postgresql.conf"))
	if err != nil {
		return err
	}
	if i := bytes.Index(initial, []byte("\n# pgtest\n")); i >= 0 {
		initial = initial[:i] // a retry with another port
	}
	var b bytes.Buffer
	b.Write(initial)
	b.WriteString("\n# pgtest\n")
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		fmt.Fprintf(&b, "%s = %s\n", k, quoteLiteral(conf[k]))
	}
	return c.srv.writeFile(filepath.Join(c.data, "postgresql.conf"), b.Bytes(), 0o600)
}

func (c *Cluster) logFile() string { return filepath.Join(c.Dir, "postgres.log") }

// ConnString returns a keyword/value connection string for TCP to the
// cluster: host=127.0.0.1 port=N, then each "key=value" pair, whose value is
// quoted for you. A pair may override host or port (e.g. "host=localhost"
// for sslmode=verify-full).
func (c *Cluster) ConnString(kv ...string) string {
	pairs := append([]string{"host=" + c.Host, "port=" + strconv.Itoa(c.Port)}, kv...)
	var keys []string
	values := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		if _, ok := values[k]; !ok {
			keys = append(keys, k)
		}
		values[k] = v
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := strings.ReplaceAll(strings.ReplaceAll(values[k], `\`, `\\`), `'`, `\'`)
		parts[i] = k + "='" + v + "'"
	}
	return strings.Join(parts, " ")
}

// superuser is the connection string of the trusted unix socket. Every
// setting that the environment could also give is explicit, so that a test's
// PG* variables do not change it.
func (c *Cluster) superuser() string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=10", c.SocketDir, c.Port)
}

// Exec runs sql (one or more statements in one implicit transaction, so not
// CREATE DATABASE with anything else) as the superuser over the unix socket.
func (c *Cluster) Exec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, c.superuser())
	if err != nil {
		t.Fatalf("pgtest: connect as superuser: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// Hold opens a connection that stays open until the test ends, to use up a
// connection slot or to keep a smart shutdown waiting.
func (c *Cluster) Hold(t testing.TB, connString string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("pgtest: hold a connection: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
}

// StopSmart asks for a smart shutdown and returns once the server refuses new
// connections with 57P03 "the database system is shutting down". The server
// only stays in that state while sessions are open, so Hold one first.
func (c *Cluster) StopSmart(t testing.TB) {
	t.Helper()
	if err := c.srv.run(c.Dir, "pg_ctl", "stop", "-m", "smart", "-W", "-D", c.data); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgconn.Connect(ctx, c.superuser())
		cancel()
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			conn.Close(context.Background()) // the signal has not arrived yet
		case errors.As(err, &pgErr) && pgErr.Code == "57P03":
			return
		case !errors.As(err, &pgErr):
			t.Fatalf("pgtest: server stopped instead of waiting in smart shutdown (hold a connection first): %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: server did not enter smart shutdown within 10s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanup stops the server at once, whatever state it is in, and removes the
// directory.
func (c *Cluster) cleanup(t testing.TB) {
	if t.Failed() {
		c.logTail(t)
	}
	if err := c.destroy(); err != nil {
		t.Errorf("pgtest: %v", err)
	}
}

func (c *Cluster) destroy() error {
	pidFile := filepath.Join(c.data, "postmaster.pid")
	if _, err := os.Stat(pidFile); err == nil {
		if err := c.srv.run(c.Dir, "pg_ctl", "stop", "-m", "immediate", "-w", "-t", "10", "-D", c.data); err != nil {
			if err := kill(pidFile); err != nil {
				return err
			}
		}
	}
	// Children of an immediate stop may still be exiting and removing files.
	var err error
	for range 50 {
		if err = os.RemoveAll(c.Dir); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// kill is the last resort when pg_ctl could not stop the server.
func kill(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil // it stopped after all
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return fmt.Errorf("bad %s: %q", pidFile, line)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill postmaster %d: %w", pid, err)
	}
	return nil
}

// sweep removes the clusters of test binaries that died without cleaning up
// (go test -timeout kills a binary without running t.Cleanup), so that their
// servers do not pile up on the machine. Each cluster directory names the
// process that owns it.
var sweep = sync.OnceFunc(func() {
	srv, err := findServer()
	if err != nil {
		return
	}
	owners, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*", ownerFile))
	for _, owner := range owners {
		if !ownerDied(owner) {
			continue
		}
		dir := filepath.Dir(owner)
		c := &Cluster{Dir: dir, srv: srv, data: filepath.Join(dir, "data")}
		c.destroy() // best effort: a failure here is not this test's
	}
})

// ownerFile, in a cluster directory, holds the pid of the test binary.
const ownerFile = "owner.pid"

// ownerDied tells whether the process named in the file has gone. A pid
// reused since only delays the sweep.
func ownerDied(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// logTail shows the end of the server log, which usually says why a test
// failed on the server side.
func (c *Cluster) logTail(t testing.TB) {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	t.Logf("pgtest: end of %s:\n%s", c.logFile(), strings.Join(lines, "\n"))
}

func createRole(r Role) string {
	var b strings.Builder
	b.WriteString("CREATE ROLE " + quoteIdent(r.Name))
	if r.NoLogin {
		b.WriteString(" NOLOGIN")
	} else {
		b.WriteString(" LOGIN")
	}
	if r.Superuser {
		b.WriteString(" SUPERUSER")
	}
	if r.Password != "" {
		b.WriteString(" PASSWORD " + quoteLiteral(r.Password))
	}
	if r.ConnLimit != 0 {
		b.WriteString(" CONNECTION LIMIT " + strconv.Itoa(max(r.ConnLimit, 0)))
	}
	return b.String()
}

func createDatabase(d Database) string {
	var b strings.Builder
	b.WriteString("CREATE DATABASE " + quoteIdent(d.Name))
	if d.ConnLimit != 0 {
		b.WriteString(" CONNECTION LIMIT " + strconv.Itoa(max(d.ConnLimit, 0)))
	}
	if d.NoConnections {
		b.WriteString(" ALLOW_CONNECTIONS false")
	}
	return b.String()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// freePort asks the kernel for a port that is free on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hasIPv6Loopback tells whether the server can listen on ::1 too; some
// containers have no IPv6.
func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}
