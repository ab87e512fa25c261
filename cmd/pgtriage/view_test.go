package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/watch"
)

// TestView draws the terminal table twice (the second frame moves back over the first) and writes plain lines
// when the output is not a terminal; colour only when allowed.
func TestView(t *testing.T) {
	now := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	st := []watch.Status{
		{Name: "app@db1:5432/orders", State: watch.StateDown, Since: now.Add(-75 * time.Second), Cause: catalog.TCPRefused, Evidence: "dial tcp 10.0.0.5:5432: connect: connection refused"},
		{Name: "app@db2:5432/billing", State: watch.StateUp, Since: now.Add(-3 * time.Hour), Latency: 1200 * time.Microsecond},
	}
	var tty bytes.Buffer
	v := NewView(&tty, true, true)
	v.Size = func() (int, int) { return 100, 30 }
	v.Draw(st, now)
	first := tty.String()
	v.Draw(st, now)
	second := strings.TrimPrefix(tty.String(), first)
	for _, want := range []string{"2 targets: 1 up, 1 down", "\x1b[31mdown", "1m15s", "3h0m", "1.2ms", "tcp.refused: dial tcp"} {
		if !strings.Contains(first, want) {
			t.Errorf("frame lacks %q:\n%s", want, first)
		}
	}
	if !strings.HasPrefix(second, "\x1b[4F") || strings.HasPrefix(first, "\x1b[") {
		t.Errorf("the second frame does not move back over the four lines of the first: %q", second[:min(len(second), 12)])
	}
	for _, l := range strings.Split(first, "\n") {
		if visible(strings.TrimSuffix(l, "\x1b[K")) > 100+len("\x1b[K") {
			t.Errorf("line wider than the terminal: %q", l)
		}
	}

	var plain bytes.Buffer
	p := NewView(&plain, false, true) // colour asked for, but not a terminal
	o := &eventlog.Outage{DurationSeconds: 75, Cause: catalog.TCPRefused, Verdict: eventlog.VerdictEscalate, Reasons: []string{"lasted 1m15s, more than 1m0s"}, Steps: []string{"Check it."}}
	for _, ev := range []eventlog.Event{
		{Time: now, Type: eventlog.EventOutageStart, Target: "app@db1:5432/orders", Probe: eventlog.ProbeSession, Code: catalog.ServerTerminated, Evidence: "FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"},
		{Time: now, Type: eventlog.EventLatency, Target: "app@db1:5432/orders"},
		{Time: now.Add(75 * time.Second), Type: eventlog.EventOutageEnd, Target: "app@db1:5432/orders", Outage: o},
	} {
		if err := p.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	got := plain.String()
	if strings.Contains(got, "\x1b") || strings.Count(got, "\n") != 3 || !strings.Contains(got, "DOWN app@db1:5432/orders server.terminated (session)") ||
		!strings.Contains(got, "UP app@db1:5432/orders after 1m15s: tcp.refused, escalate (lasted 1m15s, more than 1m0s)\n    1. Check it.") {
		t.Errorf("plain lines:\n%s", got)
	}
}
