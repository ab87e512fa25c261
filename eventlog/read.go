package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxLine is the longest line read as an event. Record caps the text it writes (MaxText) so that its lines stay far
// below it; a longer line is not one watch wrote, and is counted in Stats.TooLong without being held in memory.
const MaxLine = 1 << 20

// Stats is what a read of a log found besides its events.
type Stats struct {
	Events  int
	Skipped int // lines that were not events, TooLong among them
	// TooLong counts lines longer than MaxLine, skipped up to their newline.
	TooLong int
}

// Problems says in words what was skipped, or "" when nothing was.
func (s Stats) Problems() string {
	switch {
	case s.Skipped == 0:
		return ""
	case s.TooLong == 0:
		return fmt.Sprintf("%d lines were not events", s.Skipped)
	}
	return fmt.Sprintf("%d lines were not events, %d of them longer than %d bytes", s.Skipped, s.TooLong, MaxLine)
}

// Scan calls each for every event of r, in order, holding one line at a time: a report folds a log of any length in
// the memory of what it keeps.
func Scan(r io.Reader, each func(Event)) (Stats, error) {
	var st Stats
	_, err := scanLines(r, func(ev Event) { st.Events++; each(ev) }, &st, false)
	return st, err
}

// ReadEvents reads a whole event log into memory. Lines that are not events (a torn last line among them) are
// skipped and counted.
func ReadEvents(r io.Reader) (events []Event, skipped int, err error) {
	st, err := Scan(r, func(ev Event) { events = append(events, ev) })
	return events, st.Skipped, err
}

// errNotEvents is returned by scanLines with mustBeLog when the first line of a file is not an event.
var errNotEvents = errors.New("is not a watch event log: its first line is not an event")

// eventStart is how every line Record writes starts (Time is the first field of Event).
var eventStart = []byte(`{"time":`)

// scanLines calls each for every event of r and counts the other lines in st, and returns the offset after the last
// complete line (one that ends with a newline). With mustBeLog, the first line must be an event (or, when it is
// torn, the start of one), so that a file of something else is refused before anything is done to it.
func scanLines(r io.Reader, each func(Event), st *Stats, mustBeLog bool) (good int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the buffer, up to MaxLine
	first := true
	for {
		line, err := br.ReadSlice('\n')
		n := int64(len(line))
		tooLong := false
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				n += int64(len(line))
				if !tooLong && len(long)+len(line) <= MaxLine {
					long = append(long, line...)
				} else {
					tooLong = true // read on to the newline without keeping the line
				}
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return good, err
		}
		if tooLong {
			if first && mustBeLog {
				return good, errNotEvents
			}
			first = false
			st.Skipped++
			st.TooLong++
			if err != nil {
				return good, nil // torn as well
			}
			good += n
			continue
		}
		if err != nil { // a last line without its newline: torn by a crash during its write
			if first && mustBeLog && len(line) > 0 && !bytes.HasPrefix(line, eventStart) && !bytes.HasPrefix(eventStart, line) {
				return good, errNotEvents
			}
			if len(bytes.TrimSpace(line)) > 0 {
				st.Skipped++
			}
			return good, nil
		}
		good += n
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev Event
		if json.Unmarshal(line, &ev) != nil || ev.Type == "" || ev.Time.IsZero() {
			if first && mustBeLog {
				return good, errNotEvents
			}
			st.Skipped++
		} else {
			each(ev)
		}
		first = false
	}
}
