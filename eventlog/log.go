package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
	end    int64 // where the next line goes: the end of the last whole line
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
	Stats
	// Note says what was repaired or skipped, e.g. a torn last line cut off.
	Note string
}

// Open opens the log at path, creating it if needed, locks it against a second writer, and calls each (when not nil)
// for every event an earlier run wrote, in order, so that a caller folds a long log in constant memory.
//
// Open takes only a regular file (not a symbolic link) that is empty or holds watch events, its first line an event:
// a mistyped --events must not make watch append to, or cut the last line of, a file of something else.
// A last line without its newline was torn by a crash during its write: it is cut off (Existing.Note says so) so
// that the next event starts a line of its own. Lines that are not events are skipped and counted.
func Open(path string, each func(Event)) (*Log, Existing, error) {
	var ex Existing
	f, err := openFile(path)
	if err != nil {
		return nil, ex, err
	}
	l, err := open(f, path, each, &ex)
	if err != nil {
		f.Close()
		return nil, ex, err
	}
	return l, ex, nil
}

func open(f *os.File, path string, each func(Event), ex *Existing) (*Log, error) {
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if err := lock(f, path); err != nil {
		return nil, err
	}
	if each == nil {
		each = func(Event) {}
	}
	good, err := scanLines(f, each, &ex.Stats, true)
	if err != nil {
		return nil, fmt.Errorf("%s %w", path, err)
	}
	var notes []string
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if good < end {
		if err := f.Truncate(good); err != nil {
			return nil, fmt.Errorf("%s: cut the torn last line: %w", path, err)
		}
		notes = append(notes, fmt.Sprintf("the last line of %s was torn (%d bytes without a newline) and was cut off", path, end-good))
	}
	if ex.TooLong > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d lines longer than %d bytes were skipped", path, ex.TooLong, MaxLine))
	}
	ex.Note = strings.Join(notes, "; ")
	l := &Log{path: path, f: f, end: good, stop: make(chan struct{}), done: make(chan struct{})}
	go l.syncLoop()
	return l, nil
}

// Record appends an event as one line, its free text capped at MaxText. A write that fails leaves no part of the
// line behind: the file is cut back to the end of the last whole line, so the next event starts a line of its own.
func (l *Log) Record(ev Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("event log is closed")
	}
	b, err := json.Marshal(ev.capped())
	if err != nil {
		return err
	}
	if len(b) >= MaxLine {
		return fmt.Errorf("%s: a %s event of %d bytes is longer than a line may be (%d)", l.path, ev.Type, len(b), MaxLine)
	}
	l.buf = append(append(l.buf[:0], b...), '\n')
	n, err := l.f.WriteAt(l.buf, l.end)
	if err != nil {
		// n may say 0 when part of the line was written (os.File.WriteAt drops the count of a write that failed
		// midway), so the file is cut back in every case.
		if terr := l.f.Truncate(l.end); terr != nil {
			// The torn line stays until the next Open cuts it; events after it would be glued to it.
			l.closed = true
			return fmt.Errorf("%s: %w; cutting what was written: %w (no more events are written)", l.path, err, terr)
		}
		return fmt.Errorf("%s: %w", l.path, err)
	}
	l.end += int64(n)
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
