package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// untilSignalled is the one place long-running commands (watch, proxy, rehearse, demo) learn of signals. The
// returned context ends, with the signal as its cause, on Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal
// closed), so that each command cleans up what it started (servers, proxies) and writes its last words instead of
// being killed midway. SIGPIPE is ignored rather than caught: caught, it would come from every socket a peer reset
// (the fault proxy makes them on purpose); ignored, a write to standard output whose reader left (`pgtriage demo |
// head -1`) fails with EPIPE instead of killing the process, and the command stops on that error (stopOnWriteError).
// With hangup set, SIGHUP calls it instead of ending the command (watch: a daemon's SIGHUP asks for a reload).
func untilSignalled(parent context.Context, hangup func()) (context.Context, context.CancelCauseFunc, func()) {
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
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
	return ctx, cancel, func() { signal.Stop(ch); cancel(nil) }
}

// stopOnWriteError passes writes to w and ends the command's context at the first failed one: standard output
// whose reader left.
type stopOnWriteError struct {
	w      io.Writer
	cancel context.CancelCauseFunc
}

func (s stopOnWriteError) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		s.cancel(fmt.Errorf("writing the output: %w", err))
	}
	return n, err
}
