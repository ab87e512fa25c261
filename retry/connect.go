package retry

import (
	"context"
	"database/sql/driver"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
// BeforeConnect, with a probe connection of the same settings that is closed at once: the pool's own connect
// follows only once the server has accepted one. The price is a second connection set-up each time the pool opens
// a connection, which pools do rarely. Queries already sent on connections that the restart broke still fail:
// wrap such work in Tx or Do.
func PoolConfig(cfg *pgxpool.Config, p *Policy) {
	before := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if before != nil {
			if err := before(ctx, cc); err != nil {
				return err
			}
		}
		return Do(ctx, p, func(ctx context.Context) error {
			probe, err := pgconn.ConnectConfig(ctx, &cc.Config)
			if err != nil {
				return err
			}
			return probe.Close(ctx)
		})
	}
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
