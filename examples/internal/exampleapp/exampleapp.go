// Package exampleapp is what the example applications share that is not about retrying: start-up, the schema,
// and a policy that logs its retries.
package exampleapp

import (
	"context"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/pgtriage/pgtriage/retry"
)

// Orders is how many orders an example writes when run from the command line.
const Orders = 20

// Schema is the examples' table and the idempotency keys' table.
const Schema = `CREATE TABLE IF NOT EXISTS example_orders (id text PRIMARY KEY, total numeric NOT NULL); ` + retry.KeyTable

// Main runs run until it returns or the user interrupts, and exits with its error.
func Main(run func(ctx context.Context, orders int) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, Orders); err != nil {
		log.Fatal(err)
	}
}

// Policy is retry.Interactive with each retry logged: what failed, why (the catalog's cause), and the wait.
func Policy() *retry.Policy {
	p := retry.Interactive()
	p.OnRetry = func(e retry.Event) {
		log.Printf("attempt %d failed (%s: %v); retrying in %s", e.Attempt, e.Cause.Code, e.Err, e.Wait.Round(time.Millisecond))
	}
	return p
}
