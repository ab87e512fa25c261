package report

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
)

// synth writes a log of n events over span for targets: runs of watch, outages every so often, latency summaries
// between, a restart now and then.
func synth(n int, span time.Duration, targets int, each func(eventlog.Event)) {
	names := make([]string, targets)
	for i := range names {
		names[i] = fmt.Sprintf("db-%02d", i)
	}
	start := time.Date(2023, 3, 14, 9, 26, 53, 0, time.UTC)
	step := span / time.Duration(n)
	each(eventlog.Event{Time: start, Type: eventlog.EventWatchStart, Targets: names})
	for i := 1; i < n-1; i++ {
		at := start.Add(time.Duration(i) * step)
		name := names[i%targets]
		switch {
		case i%1000 == 500:
			each(eventlog.Event{Time: at, Type: eventlog.EventOutageStart, Target: name, Code: catalog.TCPRefused, Evidence: "connection refused"})
		case i%1000 == 500+targets:
			o := eventlog.Outage{Start: at.Add(-time.Duration(targets) * step), End: at, Cause: catalog.TCPRefused, Category: "availability",
				Codes: []eventlog.CodeCount{{Code: catalog.TCPRefused, Count: 3}}, Verdict: eventlog.VerdictTransient, Steps: []string{"look at the server's log"}}
			o.DurationSeconds = o.End.Sub(o.Start).Seconds()
			each(eventlog.Event{Time: at, Type: eventlog.EventOutageEnd, Target: name, Outage: &o})
		case i%5000 == 77:
			each(eventlog.Event{Time: at, Type: eventlog.EventRestart, Target: name, Old: "1", New: "2"})
		default:
			each(eventlog.Event{Time: at, Type: eventlog.EventLatency, Target: name, Probe: eventlog.ProbeSession,
				Latency: &eventlog.Latency{Probe: eventlog.ProbeSession, Count: 60, P50MS: 0.4 + float64(i%7)/10, P90MS: 1.1, MaxMS: 3, Seconds: (step * time.Duration(targets)).Seconds()}})
		}
	}
	each(eventlog.Event{Time: start.Add(span), Type: eventlog.EventWatchStop})
}

var axisTick = regexp.MustCompile(`<svg id="timeline"[\s\S]*?</svg>`)

// TestTicksYears: a log over three years (and one over a minute, a day, a decade, and from year 1 to 9999) has at
// most maxTicks labelled ticks, in order and at round times. (Beyond 292 years a time.Duration saturates and the
// axis has no room for labels; it must still not draw thousands.)
func TestTicksYears(t *testing.T) {
	f := NewFolder()
	synth(20_000, 3*365*24*time.Hour, 4, f.Add)
	var page bytes.Buffer
	if err := f.Write(&page, Options{}); err != nil {
		t.Fatal(err)
	}
	timeline := axisTick.FindString(page.String())
	if n := bytes.Count([]byte(timeline), []byte(`<line class="axis"`)); n < 3 || n > maxTicks {
		t.Errorf("%d ticks on the timeline of three years, want 3 to %d", n, maxTicks)
	}

	x := func(from, to time.Time) func(time.Time) float64 {
		return func(t time.Time) float64 {
			return labelW + float64(t.Sub(from))/float64(to.Sub(from))*float64(plotX1-labelW)
		}
	}
	start := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		from, to time.Time
		first    string
	}{
		{start, start.Add(time.Minute), "20:00:00"},
		{start, start.Add(24 * time.Hour), "00:00:00"},
		{start, start.Add(40 * 24 * time.Hour), "Nov 30 00:00"},
		{start, start.AddDate(1, 0, 0), "Jan 2027"},
		{start.AddDate(-3, 0, 0), start, "Jan 2024"},
		{start, start.AddDate(10, 0, 0), "2028"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ""},
	} {
		tk := ticks(c.from, c.to, x(c.from, c.to))
		if len(tk) > maxTicks || len(tk) == 0 && c.first != "" {
			t.Errorf("%s to %s: %d ticks", c.from, c.to, len(tk))
			continue
		}
		if c.first != "" && tk[0].Label != c.first {
			t.Errorf("%s to %s: the first tick is %s, want %s (%v)", c.from, c.to, tk[0].Label, c.first, tk)
		}
		for i := 1; i < len(tk); i++ {
			if tk[i].X <= tk[i-1].X {
				t.Errorf("%s to %s: ticks out of order: %v", c.from, c.to, tk)
			}
		}
	}
}

// TestFoldBounded folds 3,000,000 events with 3,000 outages of one target: what is kept is bounded (bars, listed
// outages, latency samples), what is counted is not (the summary and the cards count every outage), and the page
// says how many outages it does not list.
func TestFoldBounded(t *testing.T) {
	f := NewFolder()
	synth(200_000, 400*24*time.Hour, 1, f.Add)
	var page bytes.Buffer
	if err := f.Write(&page, Options{}); err != nil {
		t.Fatal(err)
	}
	td := f.targets[0]
	if td.outages != 200 || len(td.bars) > 2*maxBars || len(td.latency) != maxSamples || len(td.markers) > 2*maxMarkers {
		t.Errorf("%d outages, %d bars, %d samples, %d markers kept", td.outages, len(td.bars), len(td.latency), len(td.markers))
	}
	f = NewFolder()
	synth(3_000_000, 400*24*time.Hour, 1, f.Add)
	page.Reset()
	if err := f.Write(&page, Options{}); err != nil {
		t.Fatal(err)
	}
	td = f.targets[0]
	if td.outages != 3000 || len(td.bars) > maxBars || len(f.listed) != maxListed || f.unlisted != 3000-maxListed {
		t.Errorf("%d outages, %d bars, %d listed, %d unlisted", td.outages, len(td.bars), len(f.listed), f.unlisted)
	}
	html := page.String()
	for _, want := range []string{"<b>3000</b>outages", fmt.Sprintf("%d earlier ones", 3000-maxListed), "outages 20"} {
		if !bytes.Contains(page.Bytes(), []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := bytes.Count([]byte(html), []byte(`<tr class="outage-row">`)); n != maxListed {
		t.Errorf("%d outage rows", n)
	}
	// Latency lines break at the outages (a gap in the summaries), not between every sampled point.
	if n := bytes.Count([]byte(html), []byte(`class="p50"`)); n < 100 || n > maxSamples/2 {
		t.Errorf("%d stretches of the latency line", n)
	}
}
