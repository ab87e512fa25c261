package watch

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
)

// Sink receives events. Each sink has a writer of its own: a slow or blocked sink delays only itself, never probing
// nor the other sinks.
type Sink interface {
	Record(eventlog.Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(eventlog.Event) error

// Record calls f.
func (f SinkFunc) Record(ev eventlog.Event) error { return f(ev) }

// drainTimeout bounds how long Run waits, once watching stopped, for the sinks to write what they were behind on: a
// stdout pipe nobody reads must not keep the process from exiting.
const drainTimeout = 5 * time.Second

// sinkWriter feeds one sink from a queue in one goroutine. Events are queued in the order they were emitted (each
// target emits under its own lock), so each target's events reach the sink in order. When the queue is full the event
// is dropped, not waited for: probing goes on, the drop is counted in pgtriage_watch_events_dropped_total, and once
// the sink has caught up it receives an events_dropped event saying how many it missed.
type sinkWriter struct {
	sink    Sink
	q       chan eventlog.Event
	dropped atomic.Int64 // not yet told to the sink
	lost    atomic.Int64 // in all
	done    chan struct{}
	err     error // the sink's first error; read after done
	failing bool  // the last write failed
	// failed is told of every failed write at once, a full disk must not wait for the exit to be known; first says
	// that the write before it succeeded.
	failed func(s Sink, err error, first bool)
}

func newSinkWriter(s Sink, size int, failed func(s Sink, err error, first bool)) *sinkWriter {
	sw := &sinkWriter{sink: s, q: make(chan eventlog.Event, size), done: make(chan struct{}), failed: failed}
	go sw.run()
	return sw
}

// offer queues ev without waiting and says whether it was queued.
func (sw *sinkWriter) offer(ev eventlog.Event) bool {
	select {
	case sw.q <- ev:
		return true
	default:
		sw.dropped.Add(1)
		sw.lost.Add(1)
		return false
	}
}

func (sw *sinkWriter) run() {
	defer close(sw.done)
	for ev := range sw.q {
		sw.record(ev)
		// Tell of drops once caught up, so that the note follows every event that was queued before them.
		if len(sw.q) == 0 {
			if n := sw.dropped.Swap(0); n > 0 {
				sw.record(eventlog.Event{Time: time.Now(), Type: eventlog.EventDropped, Dropped: int(n),
					Note: fmt.Sprintf("%d events were dropped: this sink fell more than %d events behind", n, cap(sw.q))})
			}
		}
	}
}

func (sw *sinkWriter) record(ev eventlog.Event) {
	err := sw.sink.Record(ev)
	if err != nil {
		if sw.err == nil {
			sw.err = err
		}
		sw.failed(sw.sink, err, !sw.failing)
	}
	sw.failing = err != nil
}

// drain closes the queue and waits until the sink has written it, or until deadline; it returns what went wrong.
func (sw *sinkWriter) drain(i int, deadline <-chan time.Time) error {
	close(sw.q)
	var errs []error
	select {
	case <-sw.done:
		errs = append(errs, sw.err)
	case <-deadline:
		// Its goroutine stays blocked in Record; the process is about to stop watching anyway.
		errs = append(errs, fmt.Errorf("watch: sink %d (%T) did not catch up within %s of the stop: its last events are lost", i+1, sw.sink, drainTimeout))
	}
	if n := sw.lost.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("watch: sink %d (%T) was blocked: %d events dropped", i+1, sw.sink, n))
	}
	return errors.Join(errs...)
}
