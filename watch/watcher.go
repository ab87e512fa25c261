package watch

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/probe"
)

// Watcher watches targets until its Run's context is done.
type Watcher struct {
	opts Options
	// mu guards targets, which Reload replaces while Run runs; runCtx is Run's context, nil before it.
	mu      sync.Mutex
	targets []*target
	runCtx  context.Context

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
	var err error
	if w.targets, err = w.build(targets); err != nil {
		return nil, err
	}
	return w, nil
}

// build checks targets and makes their states.
func (w *Watcher) build(targets []Target) ([]*target, error) {
	var out []*target
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
			tg.Interval = w.opts.Interval
		}
		if tg.LoginEvery <= 0 {
			tg.LoginEvery = w.opts.LoginEvery
		}
		t := &target{Target: tg, w: w, m: w.opts.Metrics.forTarget(tg.Name), facts: probe.FactsOf(tg.Settings)}
		t.configs()
		out = append(out, t)
	}
	return out, nil
}

// Reload replaces the targets: new ones start, removed ones stop (their sessions closed), and a target whose
// name, settings, interval and login_every are unchanged goes on with its held session and its state.
func (w *Watcher) Reload(targets []Target) error {
	if len(targets) == 0 {
		return errors.New("watch: no targets")
	}
	fresh, err := w.build(targets)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	old := make(map[string]*target, len(w.targets))
	for _, t := range w.targets {
		old[t.Name] = t
	}
	for i, t := range fresh {
		if o := old[t.Name]; o != nil && o.Interval == t.Interval && o.LoginEvery == t.LoginEvery &&
			reflect.DeepEqual(o.Settings.Params, t.Settings.Params) {
			fresh[i] = o
			delete(old, t.Name)
		} else if w.runCtx != nil {
			w.startTarget(t)
		}
	}
	for _, o := range old {
		if o.stop != nil {
			o.stop()
		}
	}
	w.targets = fresh
	return nil
}

// startTarget starts a target's loops under Run's context; w.mu is held.
func (w *Watcher) startTarget(t *target) {
	ctx, cancel := context.WithCancel(w.runCtx)
	t.stop = cancel
	// Spread the targets over the interval, the same way on every run, so that a thousand probes do not fall on
	// the same millisecond.
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

// current returns the targets of the moment.
func (w *Watcher) current() []*target {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.targets
}

// Targets returns the names of the targets, in order.
func (w *Watcher) Targets() []string {
	targets := w.current()
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	return names
}

// Status returns every target's state, down targets first, then by name.
func (w *Watcher) Status() []Status {
	targets := w.current()
	out := make([]Status, len(targets))
	for i, t := range targets {
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
		w.sinks = append(w.sinks, newSinkWriter(s, w.opts.SinkQueue, w.sinkFailed))
	}
	now := time.Now()
	w.restore(now)
	start := eventlog.Event{Time: now, Type: eventlog.EventWatchStart, Targets: w.Targets()}
	if h := w.opts.History; h != nil {
		start.Resumed, start.Note = h.Events > 0, h.Note
	}
	w.emit(start)
	w.mu.Lock()
	w.runCtx = ctx
	for _, t := range w.targets {
		w.startTarget(t)
	}
	w.mu.Unlock()
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

// sinkFailed counts a failed write of a sink and tells Options.SinkError of the first of a series.
func (w *Watcher) sinkFailed(s Sink, err error, first bool) {
	w.opts.Metrics.sinkErrors.Inc()
	if first && w.opts.SinkError != nil {
		w.opts.SinkError(s, err)
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

// Ready says whether every target has a first result (up or down), so that a scrape sees the whole fleet; with
// the reason when not.
func (w *Watcher) Ready() (bool, string) {
	targets := w.current()
	waiting := 0
	for _, t := range targets {
		if t.status().State == StateUnknown {
			waiting++
		}
	}
	if waiting > 0 {
		return false, fmt.Sprintf("Not ready: %d of %d targets have no result yet", waiting, len(targets))
	}
	return true, "Ready"
}
