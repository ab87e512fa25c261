package scenario

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
)

// RunOptions change how a scenario runs.
type RunOptions struct {
	// Speed divides every offset and `for` of the timeline: 10 runs a 10-second scenario in one second. 0 means 1.
	// The faults themselves (a latency's delay, a trickle's rate) are not scaled.
	Speed float64
	// OnChange is called after each change of the timeline is applied, for live output. May be nil.
	OnChange func(Change)
}

// Change is one moment of a scenario's timeline as it happened.
type Change struct {
	Offset  time.Duration      `json:"-"`        // planned offset from the start, scaled by the speed
	Time    time.Time          `json:"time"`     // when it was applied
	Added   []faultproxy.Fault `json:"added"`    // faults put in force (as stored by the proxy; terminates acted once)
	Removed []string           `json:"removed"`  // ids of the faults taken away
	Note    string             `json:"note"`     // the step's note, or "end of for"
	OffsetS float64            `json:"offset_s"` // Offset in seconds, for JSON
}

// Run plays the scenario on p: it waits for each change's offset, removes then adds faults, and returns the changes
// as applied. When ctx ends first it removes every fault the scenario put in force and returns ctx's error with the
// changes so far; in every case the proxy is left with none of the scenario's faults.
func (s *Scenario) Run(ctx context.Context, p *faultproxy.Proxy, opts RunOptions) ([]Change, error) {
	changes, err := s.plan(s.Name)
	if err != nil {
		return nil, err
	}
	speed, err := checkSpeed(opts.Speed)
	if err != nil {
		return nil, err
	}
	active := map[string]bool{}
	defer func() {
		for id := range active {
			p.Remove(id)
		}
	}()
	var done []Change
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for _, c := range changes {
		offset := time.Duration(float64(c.at) / speed)
		timer.Reset(time.Until(start.Add(offset)))
		select {
		case <-ctx.Done():
			return done, ctx.Err()
		case <-timer.C:
		}
		applied := Change{Offset: offset, Time: time.Now(), Removed: []string{}, Added: []faultproxy.Fault{}, Note: c.note, OffsetS: offset.Seconds()}
		for _, id := range c.remove {
			p.Remove(id) // false when someone else removed it already: the outcome is the same
			delete(active, id)
			applied.Removed = append(applied.Removed, id)
		}
		for _, f := range c.add {
			stored, err := p.Add(f)
			if err != nil {
				return done, fmt.Errorf("at %s: add %s: %w", offset, f.ID, err)
			}
			if stored.Kind != faultproxy.KindTerminate {
				active[stored.ID] = true
			}
			applied.Added = append(applied.Added, stored)
		}
		done = append(done, applied)
		if opts.OnChange != nil {
			opts.OnChange(applied)
		}
	}
	return done, nil
}

// checkSpeed returns speed, 1 for 0, or an error for a speed that cannot divide offsets.
func checkSpeed(speed float64) (float64, error) {
	if speed == 0 {
		return 1, nil
	}
	if !(speed > 0) || math.IsInf(speed, 1) {
		return 0, fmt.Errorf("speed %v: must be a number more than 0", speed)
	}
	return speed, nil
}

// String says what the change did, for timelines: "remove down; add error server.recovery [promoting] (note)".
func (c Change) String() string {
	var what []string
	if len(c.Removed) > 0 {
		what = append(what, "remove "+strings.Join(c.Removed, ", "))
	}
	for _, f := range c.Added {
		what = append(what, "add "+describeFault(f))
	}
	if len(what) == 0 {
		what = append(what, "no change")
	}
	s := strings.Join(what, "; ")
	if c.Note != "" {
		s += "  (" + c.Note + ")"
	}
	return s
}
