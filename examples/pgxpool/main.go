// Command pgxpool is an application that rides out restarts and failovers with package retry and pgxpool: new
// connections wait out the outage (retry.PoolConfig), each write is a transaction with an idempotency key
// (retry.TxKey), and reads go through retry.Do.
//
//	DATABASE_URL="postgres://app:secret@localhost:5432/app" go run ./examples/pgxpool
//
// Without DATABASE_URL the PG* environment variables are used, as psql does. Restart the server while it runs
// (`pg_ctl restart -m fast`): every order is written once, and the log shows the retries.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgtriage/pgtriage/examples/internal/exampleapp"
	"github.com/pgtriage/pgtriage/retry"
)

func main() { exampleapp.Main(run) }

func run(ctx context.Context, orders int) error {
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	policy := exampleapp.Policy()
	retry.PoolConfig(cfg, policy)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, exampleapp.Schema); err != nil {
		return err
	}

	for i := range orders {
		id := rand.Text() // the order's id, made once on the client, before the first attempt
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := retry.TxKey(ctx, pool, retry.TxKeyOptions{Policy: policy, Key: retry.Key{Value: id}}, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO example_orders (id, total) VALUES ($1, $2)`, id, 10+i)
			return err
		})
		cancel()
		if err != nil {
			return fmt.Errorf("order %s: %w", id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var n int
	if err := retry.Do(ctx, policy, func(ctx context.Context) error {
		return pool.QueryRow(ctx, `SELECT count(*) FROM example_orders`).Scan(&n)
	}); err != nil {
		return err
	}
	log.Printf("wrote %d orders; the table has %d", orders, n)
	return nil
}
