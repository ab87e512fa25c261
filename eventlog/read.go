package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

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
