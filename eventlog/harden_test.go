package eventlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
)

func line(t *testing.T, ev Event) string {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

var t0 = time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)

// TestLongLines reads an event longer than the reader's buffer (an earlier version wrote evidence uncapped), and
// skips a line over MaxLine up to its newline, counting it, without losing the outage_end after it.
func TestLongLines(t *testing.T) {
	in := line(t, Event{Time: t0, Type: EventWatchStart, Targets: []string{"a"}}) +
		line(t, Event{Time: t0.Add(time.Second), Type: EventOutageStart, Target: "a", Code: catalog.TCPRefused, Evidence: strings.Repeat("x", 200<<10)}) +
		`{"time":"2026-11-24T20:00:02Z","type":"outage_cause","evidence":"` + strings.Repeat("y", 3<<20) + "\"}\n" +
		line(t, Event{Time: t0.Add(3 * time.Second), Type: EventOutageEnd, Target: "a", Outage: &Outage{Start: t0.Add(time.Second), End: t0.Add(3 * time.Second)}})
	var got []Event
	st, err := Scan(strings.NewReader(in), func(ev Event) { got = append(got, ev) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || st.Events != 3 || st.Skipped != 1 || st.TooLong != 1 {
		t.Fatalf("%d events, %+v", len(got), st)
	}
	if len(got[1].Evidence) != 200<<10 || got[2].Type != EventOutageEnd {
		t.Errorf("the long event has %d bytes of evidence; the last event is %s", len(got[1].Evidence), got[2].Type)
	}
	if p := st.Problems(); !strings.Contains(p, "longer than") {
		t.Errorf("Problems: %q", p)
	}

	// watch's restart reads the same way, and says so.
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	var types []EventType
	l, ex, err := Open(path, func(ev Event) { types = append(types, ev.Type) })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(types) != 3 || types[2] != EventOutageEnd || ex.TooLong != 1 || !strings.Contains(ex.Note, "longer than") {
		t.Errorf("Open read %v, %+v", types, ex)
	}
}

// TestRecordCapsText: a megabyte of evidence from a server becomes MaxText bytes and a word on what was cut, the
// diagnosis shared with other sinks is left whole, and the line reads back.
func TestRecordCapsText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	l, _, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("é", 1<<19) // 1 MiB, two bytes a character
	d := &catalog.Diagnosis{Code: catalog.TCPRefused, Evidence: huge, Steps: make([]string, 1000)}
	if err := l.Record(Event{Time: t0, Type: EventOutageDiagnose, Target: "a", Evidence: huge, Note: huge, Diagnosis: d}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if d.Evidence != huge || len(d.Steps) != 1000 {
		t.Error("Record changed the caller's diagnosis")
	}
	b, _ := os.ReadFile(path)
	if len(b) > 64<<10 {
		t.Errorf("the line has %d bytes", len(b))
	}
	evs, skipped, err := ReadEvents(bytes.NewReader(b))
	if err != nil || skipped != 0 || len(evs) != 1 {
		t.Fatalf("%d events, %d skipped, %v", len(evs), skipped, err)
	}
	ev := evs[0]
	for _, s := range []string{ev.Evidence, ev.Note, ev.Diagnosis.Evidence} {
		if len(s) > MaxText+40 || !strings.HasSuffix(s, "bytes cut)") || !strings.HasPrefix(s, "éé") {
			t.Errorf("a capped text of %d bytes ends %q", len(s), s[max(0, len(s)-30):])
		}
	}
	if n := len(ev.Diagnosis.Steps); n != maxList+1 {
		t.Errorf("%d steps kept", n)
	}
}

// TestOpenRefuses: --events takes the log itself, never through a symbolic link, never a directory, and never a
// file of something else, which is left as it was; an empty file, a log, and a log whose only line was torn are taken.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	const notes = "line one\nline two without a newline"
	if err := os.WriteFile(other, []byte(notes), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	jsonFile := filepath.Join(dir, "other.json")
	if err := os.WriteFile(jsonFile, []byte(`{"name":"x"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		link:     "symbolic link",
		other:    "not a watch event log",
		jsonFile: "not a watch event log",
		dir:      "",
	} {
		l, _, err := Open(path, nil)
		if err == nil {
			l.Close()
			t.Errorf("%s was taken", filepath.Base(path))
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(path), err, want)
		}
	}
	if b, _ := os.ReadFile(other); string(b) != notes {
		t.Errorf("the other file was changed: %q", b)
	}

	for name, content := range map[string]string{
		"empty":  "",
		"log":    line(t, Event{Time: t0, Type: EventWatchStart}),
		"torn":   `{"time":"2026-11-24T20:00:00Z","ty`,
		"torn 3": `{"t`,
	} {
		path := filepath.Join(dir, name+".jsonl")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		l, _, err := Open(path, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := l.Record(Event{Time: t0, Type: EventWatchStop}); err != nil {
			t.Error(err)
		}
		l.Close()
	}
}
