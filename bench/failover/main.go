// Command failover measures what a restart of PostgreSQL in the middle of a write load does to an application:
// N clients each write M rows, each row in its own transaction with a unique request id, while the server is
// restarted halfway through. It compares a plain pgx application (a pool, errors surfaced), a naive one that
// retries every failed transaction, and two that use package retry (pgxpool with PoolConfig and TxKey, and
// database/sql with Connector and SQLTxKey), and prints for each the errors the application saw, the rows lost
// (acknowledged but absent), the rows duplicated, and how long the clients stalled beyond the outage itself.
//
//	go run ./bench/failover                     # a throwaway server of its own (internal/localpg)
//	go run ./bench/failover -clients 8 -rows 2000 -scenarios fast,immediate,lost-ack
//	go run ./bench/failover -conn "host=db user=app ..." -restart "sudo systemctl restart postgresql"
//
// Scenarios: fast (pg_ctl restart -m fast: sessions end with 57P01), immediate (-m immediate: sessions end without
// a word, as in a crash), lost-ack (-m fast, and from then on the answers to the next COMMITs that succeed, one a
// client, are lost on their way back, by faultproxy's lose_answer fault: the transaction
// committed and the client cannot know, as when a failover or a network cut strikes at that moment), and
// proxy-failover (the clients go through faultproxy, which plays its built-in failover scenario instead of a
// restart: sessions end with 57P01, new connections are refused, then answered 57P03, then let through; -speed
// divides its 10 s), and down-N (the server stopped with -m fast for N seconds, then started: with retry.Interactive's
// 20 s budget, no error reaches the application while the whole outage stays below 20 s).
//
//	go run ./bench/failover -scenarios down-5,down-10,down-15,down-18 -apps retry,sqlretry -rows 200
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/internal/localpg"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

func run() error {
	clients := flag.Int("clients", 8, "concurrent clients")
	rows := flag.Int("rows", 2000, "rows each client writes, one transaction each")
	scenarios := flag.String("scenarios", "fast,immediate,lost-ack,proxy-failover", "comma-separated: fast, immediate, lost-ack, proxy-failover, down-N (the server stopped for N s)")
	policy := flag.String("policy", "interactive", "the retrying applications' policy: interactive or background")
	speed := flag.Float64("speed", 5, "how much faster than written faultproxy's failover scenario runs (proxy-failover)")
	apps := flag.String("apps", "plain,naive,retry,sqlretry", "comma-separated: plain, naive, retry, sqlretry")
	connString := flag.String("conn", "", "connection string of a server to use instead of a throwaway one (needs -restart)")
	restartCmd := flag.String("restart", "", "shell command that restarts the server of -conn (its shutdown mode is the command's business)")
	flag.Parse()
	if *clients < 1 || *rows < 2 || *speed <= 0 {
		return fmt.Errorf("-clients must be at least 1, -rows at least 2 and -speed above 0")
	}
	if *policy != "interactive" && *policy != "background" {
		return fmt.Errorf("-policy is interactive or background")
	}
	if (*connString == "") != (*restartCmd == "") {
		return fmt.Errorf("-conn and -restart go together")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var srv server
	if *connString != "" {
		srv = server{conn: *connString, restart: func(ctx context.Context, _ string) error {
			out, err := exec.CommandContext(ctx, "sh", "-c", *restartCmd).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s: %w: %s", *restartCmd, err, out)
			}
			return nil
		}}
	} else {
		c, err := localpg.Start(ctx, localpg.Options{
			Roles:          []localpg.Role{{Name: "bench", Password: "bench"}},
			MaxConnections: 4*(*clients) + 10,
			// Durable, as a production server: an acknowledged commit survives an immediate shutdown.
			Conf: map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "log_connections": "off"},
		})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Exec(ctx, `GRANT ALL ON SCHEMA public TO bench`); err != nil {
			return err
		}
		srv = server{conn: c.ConnString("user=bench", "password=bench", "dbname=postgres", "sslmode=disable"), restart: c.Restart, down: downFunc(c)}
		fmt.Printf("server: PostgreSQL %d on 127.0.0.1:%d (throwaway)\n", c.Version, c.Port)
	}
	srv.speed, srv.background = *speed, *policy == "background"
	if err := srv.prepare(ctx); err != nil {
		return err
	}
	fmt.Printf("%d clients x %d rows, one transaction a row; the disruption starts when half the rows are acknowledged\n\n", *clients, *rows)
	fmt.Printf("%-14s %-8s %8s %6s %10s %12s %9s %11s %12s %8s\n",
		"scenario", "app", "errors", "lost", "duplicated", "unacked-but", "outage", "max stall", "resumed", "rows/s")
	fmt.Printf("%-14s %-8s %8s %6s %10s %12s %9s %11s %12s %8s\n",
		"", "", "surfaced", "", "", "committed", "", "(a client)", "after it", "")
	for _, sc := range strings.Split(*scenarios, ",") {
		for _, a := range strings.Split(*apps, ",") {
			r, err := srv.measure(ctx, strings.TrimSpace(sc), strings.TrimSpace(a), *clients, *rows)
			if err != nil {
				return err
			}
			fmt.Printf("%-14s %-8s %8d %6d %10d %12d %9s %11s %12s %8.0f\n", sc, a, r.errors, r.lost, r.duplicated, r.unackedCommitted,
				ms(r.outage), ms(r.maxStall), ms(r.resumed), r.rate)
			if r.note != "" {
				fmt.Printf("%-23s %s\n", "", r.note)
			}
		}
	}
	return nil
}

// downFunc stops c for d and starts it again.
func downFunc(c *localpg.Cluster) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		if err := c.Stop(ctx, "fast"); err != nil {
			return err
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		return c.Resume(ctx)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
