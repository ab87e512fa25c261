package retry

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"maps"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig makes a pgxpool pool ride out restarts and failovers when it opens connections: a new connection
// that fails with an error a retry may clear (refused, 57P03 starting up or shutting down, 53300 too many clients,
// a reset) is tried again with the policy's waits, so that callers of Acquire, Query or Exec see the outage as a
// delay rather than an error. Call it on the config before pgxpool.NewWithConfig; a BeforeConnect already set
// still runs first.
//
// pgxpool has no hook around its connect (pgx.ConnectConfig): DialFunc covers only the TCP dial, while 57P03 and
// 53300 come after the startup message, and BeforeConnect's error fails the connect. So the retries happen in
// BeforeConnect, with a probe of the same settings (hosts, TLS, fallbacks) that stops at the server's first
// answer to the startup message: an error is retried or returned, and an authentication request means the server
// accepts connections; the probe then hangs up before any password is sent, as psql does before it prompts for
// one, and the pool's own connect follows. The price is a TCP (and TLS) handshake and a server process start per
// connection the pool opens, but no authentication (BenchmarkPoolConnect). Queries already sent on connections
// that the outage broke still fail: wrap such work in Tx or Do.
func PoolConfig(cfg *pgxpool.Config, p *Policy) {
	before := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if before != nil {
			if err := before(ctx, cc); err != nil {
				return err
			}
		}
		return Do(ctx, p, func(ctx context.Context) error { return probe(ctx, cc) })
	}
}

// probeTimeout bounds a probe whose settings have no connect_timeout.
const probeTimeout = 10 * time.Second

// errAccepting ends a probe at the server's authentication request.
var errAccepting = errors.New("retry: the server accepts connections")

// probe connects with cc's settings (pgconn dials, follows hosts and fallbacks, and sets up TLS) and stops at the
// server's first answer to the startup message: nil when it asks for authentication (or needs none), the server's
// error otherwise. It ends in AfterNetConnect rather than by failing a read, because pgconn answers a failed read
// with a cancel request on a new connection, which the server logs.
func probe(ctx context.Context, cc *pgx.ConnConfig) error {
	config := cc.Config.Copy()
	config.ValidateConnect, config.AfterConnect = nil, nil
	if config.ConnectTimeout == 0 {
		// pgconn bounds each attempt by connect_timeout; without one a silent server would hold the probe (and
		// the pool's connect behind it) for as long as the caller's context allows, which may be forever.
		config.ConnectTimeout = probeTimeout
	}
	after := config.AfterNetConnect
	config.AfterNetConnect = func(ctx context.Context, config *pgconn.Config, conn net.Conn) (net.Conn, error) {
		if after != nil {
			var err error
			if conn, err = after(ctx, config, conn); err != nil {
				return conn, err
			}
		}
		// pgconn closes conn on the error.
		return conn, firstAnswer(ctx, config, conn)
	}
	_, err := pgconn.ConnectConfig(ctx, config)
	if errors.Is(err, errAccepting) {
		return nil
	}
	return err
}

// firstAnswer sends the startup message and reads the server's first answer.
func firstAnswer(ctx context.Context, config *pgconn.Config, conn net.Conn) error {
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return err
		}
	}
	params := map[string]string{"user": config.User}
	maps.Copy(params, config.RuntimeParams)
	if config.Database != "" {
		params["database"] = config.Database
	}
	f := pgproto3.NewFrontend(conn, conn)
	f.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: params})
	if err := f.Flush(); err != nil {
		return err
	}
	msg, err := f.Receive()
	if err != nil {
		return err
	}
	if e, ok := msg.(*pgproto3.ErrorResponse); ok {
		return pgconn.ErrorResponseToPgError(e)
	}
	return errAccepting
}

// Connector makes database/sql connections ride out restarts and failovers: a Connect that fails with an error
// a retry may clear is tried again with the policy's waits. Use it with sql.OpenDB:
//
//	db := sql.OpenDB(retry.Connector(stdlib.GetConnector(*cfg), retry.Interactive()))
//	db := sql.OpenDB(retry.Connector(pqConnector, retry.Interactive())) // lib/pq: pq.NewConnector(dsn)
//
// When the retries run out, the *GaveUpError it returns is not retried again by SQLTx or Do.
func Connector(c driver.Connector, p *Policy) driver.Connector {
	return &connector{c: c, p: p}
}

type connector struct {
	c driver.Connector
	p *Policy
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	err := Do(ctx, c.p, func(ctx context.Context) error {
		var err error
		conn, err = c.c.Connect(ctx)
		return err
	})
	return conn, err
}

func (c *connector) Driver() driver.Driver { return c.c.Driver() }

// Close closes the wrapped connector when it can be closed; sql.DB.Close calls it.
func (c *connector) Close() error {
	if cl, ok := c.c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
