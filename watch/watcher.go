package watch

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/probe"
)

// Watcher watches targets until its Run's context is done.
type Watcher struct {
	opts    Options
	targets []*target

	ctx       context.Context
	wg        sync.WaitGroup
	diagSlots chan struct{}

	sinks []*sinkWriter
}

// New checks the targets and prepares a Watcher; nothing is contacted before Run.
func New(targets []Target, opts Options) (*Watcher, error) {
	opts.defaults()
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if len(targets) == 0 {
		return nil, errors.New("watch: no targets")
	}
	w := &Watcher{opts: opts, diagSlots: make(chan struct{}, opts.DiagnoseParallel)}
	seen := map[string]bool{}
	for _, tg := range targets {
		if tg.Settings == nil {
			return nil, fmt.Errorf("watch: target %q has no settings", tg.Name)
		}
		if tg.Name == "" {
			tg.Name = tg.Settings.Target()
		}
		if seen[tg.Name] {
			return nil, fmt.Errorf("watch: two targets are named %s: give them names of their own", tg.Name)
		}
		seen[tg.Name] = true
		if tg.Interval <= 0 {
			tg.Interval = opts.Interval
		}
		if tg.LoginEvery <= 0 {
			tg.LoginEvery = opts.LoginEvery
		}
		t := &target{Target: tg, w: w, m: opts.Metrics.forTarget(tg.Name), facts: probe.FactsOf(tg.Settings)}
		t.configs()
		w.targets = append(w.targets, t)
	}
	return w, nil
}

// Targets returns the names of the targets, in order.
func (w *Watcher) Targets() []string {
	names := make([]string, len(w.targets))
	for i, t := range w.targets {
		names[i] = t.Name
	}
	return names
}

// Status returns every target's state, down targets first, then by name.
func (w *Watcher) Status() []Status {
	out := make([]Status, len(w.targets))
	for i, t := range w.targets {
		out[i] = t.status()
	}
	rank := map[State]int{StateDown: 0, StateUnknown: 1, StateUp: 2}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].State] != rank[out[j].State] {
			return rank[out[i].State] < rank[out[j].State]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Run watches until ctx is done, then closes every connection, waits (a few seconds at most) for the sinks to write
// the events they are behind on, and returns each sink's first error and how many events a blocked sink missed.
func (w *Watcher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.ctx = ctx
	w.sinks = w.sinks[:0]
	for _, s := range w.opts.Sinks {
		w.sinks = append(w.sinks, newSinkWriter(s, w.opts.SinkQueue))
	}
	now := time.Now()
	w.restore(now)
	start := eventlog.Event{Time: now, Type: eventlog.EventWatchStart, Targets: w.Targets()}
	if h := w.opts.History; h != nil {
		start.Resumed, start.Note = h.Events > 0, h.Note
	}
	w.emit(start)
	for _, t := range w.targets {
		// Spread the targets over the interval, the same way on every run, so that a thousand probes do not fall
		// on the same millisecond.
		h := fnv.New32a()
		h.Write([]byte(t.Name))
		phase := time.Duration(h.Sum32()) % t.Interval
		w.wg.Add(2)
		go func() { defer w.wg.Done(); t.sessionLoop(ctx, phase) }()
		go func() { defer w.wg.Done(); t.loginLoop(ctx, phase) }()
		if w.opts.IdleProbe > 0 {
			w.wg.Add(1)
			go func() { defer w.wg.Done(); t.idleLoop(ctx) }()
		}
	}
	<-ctx.Done()
	w.wg.Wait()
	w.emit(eventlog.Event{Time: time.Now(), Type: eventlog.EventWatchStop})
	deadline := time.After(drainTimeout)
	var errs []error
	for i, sw := range w.sinks {
		errs = append(errs, sw.drain(i, deadline))
	}
	return errors.Join(errs...)
}

// emit queues an event for every sink without waiting for any (see sinkWriter). Each target calls it under its
// lock, so that its events are queued in order.
func (w *Watcher) emit(ev eventlog.Event) {
	for _, sw := range w.sinks {
		if !sw.offer(ev) {
			w.opts.Metrics.dropped.Inc()
		}
	}
}

// sleep waits for d or until ctx is done, and says whether to go on.
func sleep(ctx context.Context, tm *time.Timer, d time.Duration) bool {
	tm.Reset(d)
	select {
	case <-ctx.Done():
		tm.Stop()
		return false
	case <-tm.C:
		return true
	}
}
