package scenario

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
)

// RehearseOptions say how Rehearse plays a scenario.
type RehearseOptions struct {
	// Proxy is the proxy to start (Listen, Upstream, TLS, ...). Its OnEvent, when set, is called with every event
	// besides the rehearsal's own recording.
	Proxy faultproxy.Config
	// Speed divides the timeline's offsets, as RunOptions.Speed. 0 means 1.
	Speed float64
	// Warmup is how long the proxy runs before the first step, for the application to connect.
	Warmup time.Duration
	// Cooldown is how long the proxy keeps running after the last step, for the clients to come back.
	Cooldown time.Duration
	// Ready, when set, is called once the proxy listens (p.Addr() is where clients connect); the warm-up starts
	// when it returns, and an error ends the rehearsal with that error. A test starts its clients here and waits
	// for them to connect rather than for a fixed time.
	Ready func(ctx context.Context, p *faultproxy.Proxy) error
	// Settle, when set, takes the place of the cool-down: the observation ends when it returns, and an error ends
	// the rehearsal with that error. A test waits here for its clients to be back.
	Settle func(ctx context.Context) error
	// Log receives progress lines (where to connect, each change of the timeline as it is applied); nil discards
	// them.
	Log io.Writer
}

// startTimeout bounds starting the proxy (listening, and a TLS upstream's settings).
const startTimeout = 10 * time.Second

// Rehearse starts a proxy, lets it run for the warm-up, plays s on it, keeps watching for the cool-down, closes the
// proxy and returns what each client experienced. It is `pgtriage rehearse` as a function, so that a Go test can
// rehearse a failure in one call.
//
// When ctx ends early (Ctrl-C), the scenario's faults are removed and the report covers what happened until then,
// with Interrupted set; the error is nil. An error means there is no report: the proxy did not start, a fault was
// refused, or Ready or Settle failed.
func Rehearse(ctx context.Context, s *Scenario, o RehearseOptions) (*Rehearsal, error) {
	speed, err := checkSpeed(o.Speed)
	if err != nil {
		return nil, err
	}
	o.Speed = speed
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	rec := &Recorder{}
	cfg := o.Proxy
	if own := cfg.OnEvent; own != nil {
		cfg.OnEvent = func(e faultproxy.Event) { rec.Record(e); own(e) }
	} else {
		cfg.OnEvent = rec.Record
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	p, err := faultproxy.Start(startCtx, cfg)
	cancel()
	if err != nil {
		return nil, err
	}
	defer p.Close()
	fmt.Fprintf(log, "proxy listening on %s, forwarding to %s: point your application at it\n", p.Addr(), cfg.Upstream)
	if o.Ready != nil {
		if err := o.Ready(ctx, p); err != nil {
			return nil, fmt.Errorf("ready: %w", err)
		}
	}
	fmt.Fprintf(log, "scenario %s (%s at %gx speed) starts in %s\n", s.Name, time.Duration(float64(s.Duration())/o.Speed), o.Speed, o.Warmup)
	sleep(ctx, o.Warmup)
	start := time.Now()
	timeline, err := s.Run(ctx, p, RunOptions{Speed: o.Speed, OnChange: func(c Change) {
		fmt.Fprintf(log, "%+7.1fs  %s\n", c.Time.Sub(start).Seconds(), c)
	}})
	if err != nil && ctx.Err() == nil {
		return nil, err
	}
	switch {
	case ctx.Err() != nil:
	case o.Settle != nil:
		fmt.Fprintf(log, "scenario over; waiting for the clients to settle\n")
		if err := o.Settle(ctx); err != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("settle: %w", err)
		}
	default:
		fmt.Fprintf(log, "scenario over; watching the clients come back for %s\n", o.Cooldown)
		sleep(ctx, o.Cooldown)
	}
	end := time.Now()
	if err := p.Close(); err != nil {
		return nil, err
	}
	r := newRehearsal(s, o.Speed, start, end, timeline, rec.Events())
	r.Interrupted = ctx.Err() != nil
	return r, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
