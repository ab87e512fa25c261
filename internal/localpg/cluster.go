package localpg

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
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// dirPrefix names cluster directories in the temporary directory.
const dirPrefix = "localpg-"

// ownerFile, in a cluster directory, holds the pid of the process that started the cluster.
const ownerFile = "owner.pid"

// Options is what a cluster needs. The zero value is a plain cluster with the default pg_hba.conf.
type Options struct {
	// ServerCertFile, ServerKeyFile and CAFile, when all set, turn ssl on with these files (copied into the
	// cluster's directory, so they may live anywhere). The CA is also ssl_ca_file, so certificates it issues
	// work as client certificates.
	ServerCertFile, ServerKeyFile, CAFile string

	// HBA replaces pg_hba.conf. The default trusts the unix socket and asks TCP clients on 127.0.0.1 and ::1 for a
	// SCRAM password.
	HBA []string

	// MaxConnections is max_connections; 0 means 20, smaller than PostgreSQL's default to save memory.
	MaxConnections int
	// ReservedConnections is superuser_reserved_connections; 0 keeps PostgreSQL's default (3). On PostgreSQL 16 and
	// later set Conf["reserved_connections"] for pg_use_reserved_connections.
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
	// ConnLimit: 0 is unlimited, n > 0 allows n connections, and a negative value means CONNECTION LIMIT 0 (no
	// connection at all), which Go's zero value could not say.
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

// Cluster is a running (or stopped) server of this process.
type Cluster struct {
	Host      string // "127.0.0.1"
	Port      int
	Dir       string // holds data/, the socket, the certificates and postgres.log
	SocketDir string
	Version   int // major version, e.g. 15

	srv  *server
	data string
}

var defaultHBA = []string{
	"local all all trust",
	"local replication all trust", // for a standby's pg_basebackup and streaming
	"host all all 127.0.0.1/32 scram-sha-256",
	"host all all ::1/128 scram-sha-256",
}

// pgctlWait bounds every pg_ctl start and stop.
const pgctlWait = "60"

// Start creates and starts a cluster in a new directory under the temporary directory, on a free loopback port.
// Close stops it and removes every file. Without server binaries it returns an error wrapping ErrNoServer.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	srv, err := findServer()
	if err != nil {
		return nil, err
	}
	sweep()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Host: "127.0.0.1", Dir: dir, SocketDir: dir, srv: srv, data: filepath.Join(dir, "data")}
	if err := c.create(ctx, opts); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *Cluster) create(ctx context.Context, opts Options) error {
	if err := os.WriteFile(filepath.Join(c.Dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if err := c.srv.own(c.Dir); err != nil {
		return err
	}
	if p := opts.StandbyOf; p != nil {
		if len(opts.Roles)+len(opts.Databases) > 0 {
			return errors.New("a standby takes its roles and databases from the primary")
		}
		if err := c.srv.run(ctx, c.Dir, "pg_basebackup", "-D", c.data, "-h", p.SocketDir, "-p", strconv.Itoa(p.Port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast"); err != nil {
			return fmt.Errorf("standby: %w", err)
		}
	} else if err := c.srv.initdb(ctx, c.data); err != nil {
		return err
	}
	version, err := os.ReadFile(filepath.Join(c.data, "PG_VERSION"))
	if err != nil {
		return err
	}
	c.Version, _ = strconv.Atoi(strings.TrimSpace(string(version)))

	conf := map[string]string{
		"unix_socket_directories": c.Dir,
		"max_connections":         "20",
		"shared_buffers":          "16MB",
		// A throwaway cluster needs no durability, and flushing to disk would slow every CREATE DATABASE.
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
	if opts.ServerCertFile != "" || opts.ServerKeyFile != "" || opts.CAFile != "" {
		if err := c.setUpTLS(opts, conf); err != nil {
			return err
		}
	}
	maps.Copy(conf, opts.Conf)
	hba := opts.HBA
	if hba == nil {
		hba = defaultHBA
	}
	if err := c.srv.writeFile(filepath.Join(c.data, "pg_hba.conf"), []byte(strings.Join(hba, "\n")+"\n"), 0o600); err != nil {
		return err
	}

	// Another process may take the free port before the server binds it.
	for attempt := 1; ; attempt++ {
		if c.Port, err = freePort(); err != nil {
			return err
		}
		conf["port"] = strconv.Itoa(c.Port)
		if err := c.writeConf(conf); err != nil {
			return err
		}
		err := c.Resume(ctx)
		if err == nil {
			break
		}
		log, _ := os.ReadFile(c.LogFile())
		if attempt == 3 || !bytes.Contains(log, []byte("already in use")) {
			return fmt.Errorf("start server: %w\nend of %s:\n%s", err, c.LogFile(), c.LogTail(10))
		}
	}

	for _, r := range opts.Roles {
		if err := c.Exec(ctx, createRole(r)); err != nil {
			return err
		}
	}
	for _, d := range opts.Databases {
		if err := c.Exec(ctx, createDatabase(d)); err != nil {
			return err
		}
	}
	if opts.StandbyOf != nil { // a standby had no set-up sessions, and with hot_standby=off it admits none
		return nil
	}
	// With synchronous_commit off, the set-up's last commits may still sit in the WAL buffers, and an immediate stop
	// (which tests make on purpose) would lose them: a role created a moment before is gone after the restart. A
	// checkpoint flushes them before the caller can stop the server.
	if len(opts.Roles) > 0 {
		if err := c.Exec(ctx, "CHECKPOINT"); err != nil {
			return err
		}
	}
	return c.settle(ctx)
}

// settle waits until the sessions of the set-up are gone: a backend exits a moment after its client closes, and a
// caller that counts connection slots must start from none in use.
func (c *Cluster) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, c.SuperuserConnString())
	if err != nil {
		return fmt.Errorf("connect as superuser: %w", err)
	}
	defer conn.Close(context.Background())
	for {
		res, err := conn.Exec(ctx, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").ReadAll()
		if err != nil {
			return err
		}
		if len(res) > 0 && len(res[0].Rows) > 0 && string(res[0].Rows[0][0]) == "0" {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("set-up sessions still open after 10s")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// setUpTLS copies the certificate, its key and the CA into the cluster directory, owned by the server user, and
// adds the ssl settings to conf.
func (c *Cluster) setUpTLS(opts Options, conf map[string]string) error {
	for _, f := range []struct {
		setting, from, to string
		mode              os.FileMode
	}{
		{"ssl_cert_file", opts.ServerCertFile, "server.crt", 0o644},
		{"ssl_key_file", opts.ServerKeyFile, "server.key", 0o600}, // postgres refuses a key that others can read
		{"ssl_ca_file", opts.CAFile, "ca.crt", 0o644},
	} {
		b, err := os.ReadFile(f.from)
		if err != nil {
			return fmt.Errorf("TLS files: %w", err)
		}
		path := filepath.Join(c.Dir, f.to)
		if err := c.srv.writeFile(path, b, f.mode); err != nil {
			return err
		}
		conf[f.setting] = path
	}
	conf["ssl"] = "on"
	return nil
}

// writeConf appends the settings to initdb's postgresql.conf (the last setting of a name wins), every value
// quoted, which postgres accepts for any type.
func (c *Cluster) writeConf(conf map[string]string) error {
	initial, err := os.ReadFile(filepath.Join(c.data, "postgresql.conf"))
	if err != nil {
		return err
	}
	if i := bytes.Index(initial, []byte("\n# localpg\n")); i >= 0 {
		initial = initial[:i] // a retry with another port
	}
	var b bytes.Buffer
	b.Write(initial)
	b.WriteString("\n# localpg\n")
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		fmt.Fprintf(&b, "%s = %s\n", k, quoteLiteral(conf[k]))
	}
	return c.srv.writeFile(filepath.Join(c.data, "postgresql.conf"), b.Bytes(), 0o600)
}

// LogFile is the server's log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "postgres.log") }

// LogTail returns the last n lines of the server log, which usually say why something failed on the server side.
func (c *Cluster) LogTail(n int) string {
	b, err := os.ReadFile(c.LogFile())
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ConnString returns a keyword/value connection string for TCP to the cluster: host=127.0.0.1 port=N, then each
// "key=value" pair, whose value is quoted for you. A pair may override host or port (e.g. "host=localhost" for
// sslmode=verify-full).
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

// SuperuserConnString is the connection string of the trusted unix socket, as the postgres superuser. Every setting
// that the environment could also give is explicit, so that PG* variables do not change it.
func (c *Cluster) SuperuserConnString() string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=10", c.SocketDir, c.Port)
}

// Exec runs sql (one or more statements in one implicit transaction, so not CREATE DATABASE with anything else) as
// the superuser over the unix socket.
func (c *Cluster) Exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, c.SuperuserConnString())
	if err != nil {
		return fmt.Errorf("connect as superuser: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// Stop stops the server with pg_ctl's shutdown mode ("smart", "fast" or "immediate") and returns once it is down.
// A fast stop ends sessions with 57P01; an immediate one closes them without a word. Resume starts it again.
func (c *Cluster) Stop(ctx context.Context, mode string) error {
	return c.srv.run(ctx, c.Dir, "pg_ctl", "stop", "-m", mode, "-w", "-t", pgctlWait, "-D", c.data)
}

// BeginStop asks for a shutdown and returns without waiting: a smart shutdown waits for the last session, and
// meanwhile new clients get 57P03 "the database system is shutting down".
func (c *Cluster) BeginStop(ctx context.Context, mode string) error {
	return c.srv.run(ctx, c.Dir, "pg_ctl", "stop", "-m", mode, "-W", "-D", c.data)
}

// Resume starts a stopped server again with the same data, port and settings, and returns once it accepts
// connections.
func (c *Cluster) Resume(ctx context.Context) error {
	return c.srv.run(ctx, c.Dir, "pg_ctl", "start", "-w", "-t", pgctlWait, "-D", c.data, "-l", c.LogFile())
}

// Restart stops the server with the shutdown mode and starts it again, as `pg_ctl restart -m mode` does (but
// keeping the server's output in the log file).
func (c *Cluster) Restart(ctx context.Context, mode string) error {
	if err := c.Stop(ctx, mode); err != nil {
		return err
	}
	return c.Resume(ctx)
}

// pidFileSays is the pid in the first line of data's postmaster.pid: only a claim, which the caller checks where it
// can (see sweep.go).
func pidFileSays(data string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return pid, err == nil && pid > 0
}

// Close stops the server at once, whatever state it is in, and removes the directory.
func (c *Cluster) Close() error {
	// Only a postmaster of this data directory is stopped: postmaster.pid may be stale (a crashed server's pid, reused
	// since by another process), and pg_ctl would signal whatever process it names.
	if pid, ok := c.srv.postmaster(c.data); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.srv.run(ctx, c.Dir, "pg_ctl", "stop", "-m", "immediate", "-w", "-t", "10", "-D", c.data); err != nil {
			if err := c.srv.kill(ctx, pid); err != nil {
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
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hasIPv6Loopback tells whether the server can listen on ::1 too; some containers have no IPv6.
func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}
