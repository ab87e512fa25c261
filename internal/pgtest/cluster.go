package pgtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/localpg"
)

// Options is what a test needs of its cluster. The zero value is a plain cluster with the default pg_hba.conf.
// The fields after ServerCert read as in localpg.Options.
type Options struct {
	// TLS generates a CA and a server certificate for localhost, 127.0.0.1, ::1 and CertHosts, and turns ssl on.
	// The CA is also ssl_ca_file, so certificates it issues work as client certificates.
	TLS       bool
	CertHosts []string
	// ServerCert, when set, makes the server certificate instead (an expired one, one for the wrong names, one from
	// another CA) and implies TLS. The files are copied, so they may live anywhere.
	ServerCert func(ca *CA) (certFile, keyFile string)

	HBA                 []string
	MaxConnections      int
	ReservedConnections int
	Conf                map[string]string
	Roles               []Role
	Databases           []Database
	StandbyOf           *Cluster
}

// Role is created with CREATE ROLE after the server starts.
type Role = localpg.Role

// Database is created with CREATE DATABASE after the server starts.
type Database = localpg.Database

// Cluster is a running server that belongs to one test.
type Cluster struct {
	*localpg.Cluster
	CAFile string // PEM of the CA that signed the server certificate; "" without TLS
	CA     *CA    // nil without TLS
}

// Start creates and starts a cluster; t.Cleanup stops it at once and removes its files, and prints the end of the
// server log if the test failed. Without server binaries it skips the test (fails it under CI=true); with a
// PG_BINDIR that has none it fails.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{}
	lopts := localpg.Options{
		HBA:                 opts.HBA,
		MaxConnections:      opts.MaxConnections,
		ReservedConnections: opts.ReservedConnections,
		Conf:                opts.Conf,
		Roles:               opts.Roles,
		Databases:           opts.Databases,
	}
	if opts.StandbyOf != nil {
		lopts.StandbyOf = opts.StandbyOf.Cluster
	}
	if opts.TLS || opts.ServerCert != nil {
		c.CA = NewCA(t)
		c.CAFile = c.CA.File
		lopts.CAFile = c.CA.File
		if opts.ServerCert != nil {
			lopts.ServerCertFile, lopts.ServerKeyFile = opts.ServerCert(c.CA)
		} else {
			hosts := append([]string{"localhost", "127.0.0.1", "::1"}, opts.CertHosts...)
			lopts.ServerCertFile, lopts.ServerKeyFile = c.CA.Issue(t, hosts, time.Time{}, time.Time{})
		}
	}
	lc, err := localpg.Start(context.Background(), lopts)
	if errors.Is(err, localpg.ErrNoServer) {
		missing(t, "pgtest: %v", err)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.Cluster = lc
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: end of %s:\n%s", c.LogFile(), c.LogTail(40))
		}
		if err := c.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// Exec runs sql (one or more statements in one implicit transaction, so not CREATE DATABASE with anything else) as
// the superuser over the unix socket.
func (c *Cluster) Exec(t testing.TB, sql string) {
	t.Helper()
	if err := c.Cluster.Exec(context.Background(), sql); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Hold opens a connection that stays open until the test ends, to use up a connection slot or to keep a smart
// shutdown waiting.
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

// Stop stops the server with pg_ctl's shutdown mode ("smart", "fast" or "immediate") and returns once it is down:
// a fast stop ends sessions with 57P01, an immediate one without a word. Resume starts it again.
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if err := c.Cluster.Stop(context.Background(), mode); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Resume starts a stopped server again on the same port, and returns once it accepts connections.
func (c *Cluster) Resume(t testing.TB) {
	t.Helper()
	if err := c.Cluster.Resume(context.Background()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Restart stops the server with the shutdown mode and starts it again, as pg_ctl restart does.
func (c *Cluster) Restart(t testing.TB, mode string) {
	t.Helper()
	if err := c.Cluster.Restart(context.Background(), mode); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// StopSmart asks for a smart shutdown and returns once the server refuses new connections with 57P03 "the database
// system is shutting down". The server only stays in that state while sessions are open, so Hold one first.
func (c *Cluster) StopSmart(t testing.TB) {
	t.Helper()
	if err := c.BeginStop(context.Background(), "smart"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgconn.Connect(ctx, c.SuperuserConnString())
		cancel()
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			conn.Close(context.Background()) // the signal has not arrived yet
		case catalog.ClassifyError(err).Code == catalog.ServerShuttingDown:
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
