package watch

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
)

// latencyRing keeps the round trips of one period without allocating: past its size it keeps a uniform sample of
// them all (reservoir sampling), which is enough for a median and a 90th percentile of the whole period.
type latencyRing struct {
	ms      [240]float64
	n       int // samples kept
	seen    int // samples offered
	max     float64
	scratch [240]float64
}

func (r *latencyRing) add(d time.Duration) {
	v := float64(d) / float64(time.Millisecond)
	r.seen++
	if v > r.max {
		r.max = v
	}
	if r.n < len(r.ms) {
		r.ms[r.n] = v
		r.n++
		return
	}
	if j := rand.IntN(r.seen); j < len(r.ms) {
		r.ms[j] = v
	}
}

// summary returns the period's summary and starts a new period; nil when the period saw no sample.
func (r *latencyRing) summary(kind string, period time.Duration) *eventlog.Latency {
	if r.seen == 0 {
		return nil
	}
	s := r.scratch[:r.n]
	copy(s, r.ms[:r.n])
	slices.Sort(s)
	l := &eventlog.Latency{Probe: kind, Count: r.seen, P50MS: s[len(s)/2], P90MS: s[len(s)*9/10], MaxMS: r.max, Seconds: period.Seconds()}
	r.n, r.seen, r.max = 0, 0, 0
	return l
}
