package eventlog

import (
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/catalog"
)

// TestReadEvents skips what is not an event: garbage, an empty line, a torn last line.
func TestReadEvents(t *testing.T) {
	in := `{"time":"2026-11-24T20:00:00Z","type":"watch_start","targets":["a"]}
garbage
{"time":"2026-11-24T20:00:01Z","type":"outage_start","target":"a","code":"tcp.refused"}

{"type":"no time"}
{"time":"2026-11-24T20:00:02Z","type":"outage_e`
	evs, skipped, err := ReadEvents(strings.NewReader(in))
	if err != nil || len(evs) != 2 || skipped != 3 || evs[1].Code != catalog.TCPRefused {
		t.Errorf("%d events, %d skipped, %v", len(evs), skipped, err)
	}
}

// TestLogLocked refuses a second writer of the same log, and admits one again after Close.
func TestLogLocked(t *testing.T) {
	path := t.TempDir() + "/events.jsonl"
	l, _, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(path, nil); err == nil || !strings.Contains(err.Error(), "another pgtriage watch") {
		t.Errorf("a second Open: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, _, err = Open(path, nil)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	l.Close()
}
