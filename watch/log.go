package watch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pgtriage/pgtriage/internal/filelock"
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

// OpenLog opens the log at path, creating it if needed, locks it against a second writer, and reads what an earlier run wrote into a History.
// A last line without its newline was torn by a crash during its write: it is cut off (History.Note says so) so
// that the next event starts a line of its own. Lines that are not events are skipped and counted.
func OpenLog(path string) (*Log, *History, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	// Two writers would interleave their lines and cut each other's torn lines: one watch a log.
	if err := filelock.TryLock(f); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return nil, nil, fmt.Errorf("%s is being written by another pgtriage watch", path)
		}
		return nil, nil, fmt.Errorf("%s: lock: %w", path, err)
	}
	h := newHistory()
	good, err := h.read(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if good < end {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: cut the torn last line: %w", path, err)
		}
		h.Note = fmt.Sprintf("the last line of %s was torn (%d bytes without a newline) and was cut off", path, end-good)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	l := &Log{path: path, f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go l.syncLoop()
	return l, h, nil
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

// ReadEvents reads a whole event log, for the report. Lines that are not events (a torn last line among them) are
// skipped and counted.
func ReadEvents(r io.Reader) (events []Event, skipped int, err error) {
	_, err = scanLines(r, func(ev Event) { events = append(events, ev) }, func() { skipped++ })
	return events, skipped, err
}

// scanLines calls each for every event of r and bad for every other line, and returns the offset after the last
// complete line (one that ends with a newline).
func scanLines(r io.Reader, each func(Event), bad func()) (good int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		complete := err == nil
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: skip the rest of it.
			n := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				n += int64(len(line))
			}
			if err == nil {
				bad()
				good += n
				continue
			}
			complete = false
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return good, err
		}
		if !complete {
			if len(bytes.TrimSpace(line)) > 0 {
				bad() // a torn last line
			}
			return good, nil
		}
		good += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev Event
		if json.Unmarshal(line, &ev) != nil || ev.Type == "" || ev.Time.IsZero() {
			bad()
			continue
		}
		each(ev)
	}
}
