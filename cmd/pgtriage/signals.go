package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// untilSignalled is the one place long-running commands (watch, proxy, rehearse, demo) learn of signals. The
// returned context ends, with the signal as its cause, on Ctrl-C (SIGINT), SIGTERM, SIGHUP (the terminal closed)
// and SIGPIPE (the reader of standard output left, as `pgtriage demo | head -1` does), so that each command cleans
// up what it started (servers, proxies) and writes its last words instead of being killed midway. Catching SIGPIPE
// also turns a write to a vanished reader into an EPIPE error rather than death. With hangup set, SIGHUP calls it
// instead of ending the command (watch: a daemon's SIGHUP asks for a reload, not an exit).
func untilSignalled(parent context.Context, hangup func()) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		for {
			select {
			case sig := <-ch:
				if sig == syscall.SIGHUP && hangup != nil {
					hangup()
					continue
				}
				cancel(fmt.Errorf("signal %v", sig))
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}
