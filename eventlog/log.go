package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Log is an append-only JSON Lines file of events. Each event is one write of one whole line, so an event that
// Record returned for is in the file even if the process is killed next; the file is synced to disk every second
// and at Close, so that a crash of the machine loses at most the last second.
type Log struct {
	path string

	mu     sync.Mutex
	f      *os.File
	buf    []byte
	dirty  bool
	closed bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// syncEvery is how often written events are synced to disk.
const syncEvery = time.Second

// Existing is what Open found in a log an earlier run wrote.
type Existing struct {
	Skipped int // lines that were not events
	// Note says what was repaired, e.g. a torn last line cut off.
	Note string
}

// Open opens the log at path, creating it if needed, locks it against a second writer, and calls each (when not nil)
// for every event an earlier run wrote, in order, so that a caller folds a long log in constant memory.
// A last line without its newline was torn by a crash during its write: it is cut off (Existing.Note says so) so
// that the next event starts a line of its own. Lines that are not events are skipped and counted.
func Open(path string, each func(Event)) (*Log, Existing, error) {
	var ex Existing
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, ex, err
	}
	if err := lock(f, path); err != nil {
		f.Close()
		return nil, ex, err
	}
	if each == nil {
		each = func(Event) {}
	}
	good, err := scanLines(f, each, func() { ex.Skipped++ })
	if err != nil {
		f.Close()
		return nil, ex, fmt.Errorf("%s: %w", path, err)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, ex, err
	}
	if good < end {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, ex, fmt.Errorf("%s: cut the torn last line: %w", path, err)
		}
		ex.Note = fmt.Sprintf("the last line of %s was torn (%d bytes without a newline) and was cut off", path, end-good)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, ex, err
	}
	l := &Log{path: path, f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go l.syncLoop()
	return l, ex, nil
}

// Record appends an event as one line.
func (l *Log) Record(ev Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("event log is closed")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	l.buf = append(append(l.buf[:0], b...), '\n')
	if _, err := l.f.Write(l.buf); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	l.dirty = true
	return nil
}

func (l *Log) syncLoop() {
	defer close(l.done)
	tick := time.NewTicker(syncEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			_ = l.Sync()
		}
	}
}

// Sync flushes what was written to disk.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || !l.dirty {
		return nil
	}
	l.dirty = false
	return l.f.Sync()
}

// Close syncs and closes the file; closing again returns the first Close's result.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		err := l.Sync()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.closed = true
		l.closeErr = errors.Join(err, l.f.Close())
	})
	return l.closeErr
}
