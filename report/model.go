// Package report turns a watch event log into one self-contained HTML page: an availability timeline per target
// with the outages coloured by cause, the outages with their verdicts and next steps, and the probe latency over
// time. The page needs nothing but itself: inline SVG and CSS, no script, no font or image from anywhere (its
// Content-Security-Policy forbids every fetch).
//
//	events, _, err := eventlog.ReadEvents(f)
//	err = report.Write(out, events, report.Options{Title: "orders fleet"})
package report

import (
	"sort"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
)

// span is a stretch of time.
type span struct{ from, to time.Time }

func (s span) duration() time.Duration { return s.to.Sub(s.from) }

// outage is an outage as drawn: an ended one from its outage_end event, or one still open at the end of the log.
type outage struct {
	eventlog.Outage
	target string
	open   bool
}

// marker is an event drawn as a tick on the timeline.
type marker struct {
	at    time.Time
	kind  string // restart, role, addresses, cert
	label string
}

// series is one probe kind's latency summaries of a target.
type series struct {
	at       []time.Time
	p50, p90 []float64
	period   []time.Duration
}

// targetData is everything drawn for one target.
type targetData struct {
	name     string
	observed []span
	outages  []*outage
	markers  []marker
	latency  series
}

// model is the log folded for drawing.
type model struct {
	from, to time.Time
	targets  []*targetData
	outages  []*outage // every outage, in order of start
}

// build folds the events. The time between a watch_stop (or the last event of a run that crashed) and the next
// watch_start was not observed.
func build(events []eventlog.Event) *model {
	m := &model{}
	byName := map[string]*targetData{}
	get := func(name string) *targetData {
		td := byName[name]
		if td == nil {
			td = &targetData{name: name}
			byName[name] = td
			m.targets = append(m.targets, td)
		}
		return td
	}
	var runTargets []string
	var runStart, last time.Time
	open := map[string]*outage{}
	endRun := func(at time.Time) {
		for _, n := range runTargets {
			td := get(n)
			td.observed = append(td.observed, span{runStart, at})
		}
		runTargets = nil
	}
	for _, ev := range events {
		if m.from.IsZero() || ev.Time.Before(m.from) {
			m.from = ev.Time
		}
		if ev.Time.After(m.to) {
			m.to = ev.Time
		}
		switch ev.Type {
		case eventlog.EventWatchStart:
			if runTargets != nil {
				endRun(last) // the run before ended without a watch_stop
			}
			runStart, runTargets = ev.Time, ev.Targets
			for _, n := range ev.Targets {
				get(n)
			}
		case eventlog.EventWatchStop:
			endRun(ev.Time)
		case eventlog.EventOutageStart:
			if open[ev.Target] == nil {
				open[ev.Target] = &outage{target: ev.Target, open: true, Outage: eventlog.Outage{Start: ev.Time, Cause: ev.Code,
					Category: string(catalog.Lookup(ev.Code).Category), Codes: []eventlog.CodeCount{{Code: ev.Code, Count: 1}}}}
			}
		case eventlog.EventOutageCause:
			if o := open[ev.Target]; o != nil {
				o.Codes = append(o.Codes, eventlog.CodeCount{Code: ev.Code, Count: 1})
			}
		case eventlog.EventOutageEscalate:
			if o := open[ev.Target]; o != nil {
				o.Verdict, o.Reasons = eventlog.VerdictEscalate, []string{ev.Note}
			}
		case eventlog.EventOutageEnd:
			delete(open, ev.Target)
			if ev.Outage != nil {
				o := &outage{Outage: *ev.Outage, target: ev.Target}
				get(ev.Target).outages = append(get(ev.Target).outages, o)
			}
		case eventlog.EventRestart:
			get(ev.Target).markers = append(get(ev.Target).markers, marker{ev.Time, "restart", "server restarted"})
		case eventlog.EventRole:
			get(ev.Target).markers = append(get(ev.Target).markers, marker{ev.Time, "role", "became a " + ev.New + " (was a " + ev.Old + ")"})
		case eventlog.EventAddresses:
			get(ev.Target).markers = append(get(ev.Target).markers, marker{ev.Time, "addresses", "addresses now " + ev.New + " (were " + ev.Old + ")"})
		case eventlog.EventCert, eventlog.EventCertExpiring:
			label := "certificate changed"
			if ev.Type == eventlog.EventCertExpiring {
				label = ev.Note
			}
			get(ev.Target).markers = append(get(ev.Target).markers, marker{ev.Time, "cert", label})
		case eventlog.EventLatency:
			if ev.Latency != nil && ev.Probe == eventlog.ProbeSession {
				s := &get(ev.Target).latency
				s.at = append(s.at, ev.Time)
				s.p50 = append(s.p50, ev.Latency.P50MS)
				s.p90 = append(s.p90, ev.Latency.P90MS)
				s.period = append(s.period, time.Duration(ev.Latency.Seconds*float64(time.Second)))
			}
		}
		last = ev.Time
	}
	if runTargets != nil {
		endRun(last)
	}
	for _, o := range open {
		o.End = m.to
		o.DurationSeconds = o.End.Sub(o.Start).Seconds()
		if o.Verdict == "" {
			o.Verdict = "open"
		}
		get(o.target).outages = append(get(o.target).outages, o)
	}
	for _, td := range m.targets {
		m.outages = append(m.outages, td.outages...)
	}
	sort.SliceStable(m.outages, func(i, j int) bool { return m.outages[i].Start.Before(m.outages[j].Start) })
	return m
}

// availability is the share of the observed time a target was up, and the observed time.
func (td *targetData) availability() (float64, time.Duration) {
	var seen, down time.Duration
	for _, s := range td.observed {
		seen += s.duration()
	}
	for _, o := range td.outages {
		down += o.End.Sub(o.Start)
	}
	if seen <= 0 {
		return 0, 0
	}
	return max(0, 1-down.Seconds()/seen.Seconds()), seen
}
