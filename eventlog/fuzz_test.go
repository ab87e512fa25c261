package eventlog

import (
	"bytes"
	"testing"
)

// FuzzReadEvents: no input panics; every event returned has a type and a time; events and skipped lines never
// outnumber the lines; and the offset after the last complete line stays within the input and on a line's end.
func FuzzReadEvents(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		events, skipped, err := ReadEvents(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("reading from memory failed: %v", err)
		}
		for _, ev := range events {
			if ev.Type == "" || ev.Time.IsZero() {
				t.Fatalf("an event without type or time: %+v", ev)
			}
		}
		if lines := bytes.Count(b, []byte("\n")) + 1; len(events)+skipped > lines {
			t.Fatalf("%d events and %d skipped in %d lines", len(events), skipped, lines)
		}
		good, err := scanLines(bytes.NewReader(b), func(Event) {}, func() {})
		if err != nil || good > int64(len(b)) || good > 0 && b[good-1] != '\n' {
			t.Fatalf("offset %d of %d (%v)", good, len(b), err)
		}
	})
}
