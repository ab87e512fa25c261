package retry

import (
	"math/rand/v2"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
)

// Policy says how long to wait between attempts and when to give up. Build one from Interactive or Background, or
// write it out; a nil *Policy means Interactive.
type Policy struct {
	// First is the step before the first retry; each later step is Multiplier times the one before, up to Max.
	// Zero (or less) takes Interactive's: 100 ms and 2 s.
	First, Max time.Duration
	// Multiplier makes the steps grow; 0 means 2.
	Multiplier float64
	// Jitter is the random part of each wait: 1 waits a uniform time between 0 and the step ("full jitter"), which
	// spreads clients that failed together; 0 waits exactly the step; 0.2 waits between 80% and 100% of it.
	Jitter float64
	// MaxAttempts caps the attempts, the first one included; 0 means no cap by count.
	MaxAttempts int
	// MaxElapsed caps the time from the first attempt's start: a wait that would end later is cut short, so that the
	// last attempt starts when the time is up (an outage shorter than MaxElapsed is ridden out, whatever the jitter
	// drew); 0 means no cap by time. The context's deadline always applies as well; with neither cap, only the context ends the
	// retries.
	MaxElapsed time.Duration
	// OnRetry, when set, is called before each wait, for logging and metrics.
	OnRetry func(Event)
}

// Event describes a failed attempt that is about to be retried.
type Event struct {
	Attempt int           // the attempt that failed, from 1
	Err     error         // its error
	Cause   catalog.Cause // the catalog's cause of Err
	Wait    time.Duration // how long the retry waits before the next attempt
}

// Interactive is for work someone waits for (a request, a command): exponential waits with full jitter from
// 100 ms up to 2 s, for 20 s in all. The time is the budget and the attempts follow from it (about 15, one a second
// once the steps reach 2 s): a cap by count would run out early when the jitter draws short waits. A restart or
// failover shorter than 20 s costs the caller the outage plus at most one step; longer outages fail in time for a
// person to be told.
func Interactive() *Policy {
	return &Policy{First: 100 * time.Millisecond, Max: 2 * time.Second, Jitter: 1, MaxElapsed: 20 * time.Second}
}

// Background is for work nobody waits for (jobs, queues, replication of data), and follows the guidance managed
// services give: about 5 s before the first retry, doubling up to 60 s, at most 8 attempts (some 4 minutes).
// A little jitter keeps clients that failed together from retrying together.
func Background() *Policy {
	return &Policy{First: 5 * time.Second, Max: 60 * time.Second, Jitter: 0.2, MaxAttempts: 8}
}

// Step is the longest wait before retry n (from 1): First·Multiplierⁿ⁻¹, capped at Max. The wait itself is
// Step less the random part that Jitter asks for.
func (p *Policy) Step(n int) time.Duration {
	first, ceiling, m := p.First, p.Max, p.Multiplier
	if first <= 0 {
		first = 100 * time.Millisecond
	}
	if ceiling <= 0 {
		ceiling = 2 * time.Second
	}
	if m <= 0 {
		m = 2
	}
	d := float64(first)
	for i := 1; i < n && d < float64(ceiling); i++ {
		d *= m
	}
	return time.Duration(min(d, float64(ceiling)))
}

// wait returns the wait before retry n: Step(n) with the jitter applied.
func (p *Policy) wait(n int) time.Duration {
	d := float64(p.Step(n))
	j := min(max(p.Jitter, 0), 1)
	return time.Duration(d*(1-j) + d*j*rand.Float64())
}
