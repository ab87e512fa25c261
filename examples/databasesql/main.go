// Command databasesql is an application that rides out restarts and failovers with package retry and
// database/sql (pgx's stdlib driver): new connections wait out the outage (retry.Connector), and each write is a
// transaction with an idempotency key (retry.SQLTxKey). Writes stay inside transactions, where database/sql never
// runs a statement again by itself.
//
//	DATABASE_URL="postgres://app:secret@localhost:5432/app" go run ./examples/databasesql
//
// Without DATABASE_URL the PG* environment variables are used, as psql does.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pgtriage/pgtriage/examples/internal/exampleapp"
	"github.com/pgtriage/pgtriage/retry"
)

func main() { exampleapp.Main(run) }

func run(ctx context.Context, orders int) error {
	cfg, err := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	policy := exampleapp.Policy()
	db := sql.OpenDB(retry.Connector(stdlib.GetConnector(*cfg), policy))
	defer db.Close()
	// Idempotent DDL may run again: Do.
	if err := retry.Do(ctx, policy, func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, exampleapp.Schema)
		return err
	}); err != nil {
		return err
	}

	for i := range orders {
		id := rand.Text()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := retry.SQLTxKey(ctx, db, retry.SQLTxKeyOptions{Policy: policy, Key: retry.Key{Value: id}}, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO example_orders (id, total) VALUES ($1, $2)`, id, 10+i)
			return err
		})
		cancel()
		if err != nil {
			return fmt.Errorf("order %s: %w", id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
