// Package report turns a watch event log into one self-contained HTML page: an availability timeline per target
// with the outages coloured by cause, the outages with their verdicts and next steps, and the probe latency over
// time. The page needs nothing but itself: inline SVG and CSS, no script, no font or image from anywhere (its
// Content-Security-Policy forbids every fetch).
//
// The log is folded while it is read, one event at a time: a report of a million events holds what it draws (a
// bounded number of outages, markers and latency samples for each target), not the events.
//
//	f := report.NewFolder()
//	stats, err := eventlog.Scan(file, f.Add)
//	err = f.Write(out, report.Options{Title: "orders fleet", Skipped: stats.Skipped})
package report

import (
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
)

// Bounds of what is kept for each target (and, for the table, in all): what a page can show, whatever the log's length.
const (
	maxBars    = 1024 // outage rectangles and observed stretches; beyond, neighbours a fraction of a pixel apart are joined
	maxMarkers = 500  // the latest restarts, role, address and certificate changes
	maxSamples = 1000 // latency summaries, a uniform sample of all (reservoir)
	maxListed  = 500  // the latest outages in the table
)

// span is a stretch of time.
type span struct{ from, to time.Time }

func (s span) duration() time.Duration { return s.to.Sub(s.from) }

// outage is an outage as listed: an ended one from its outage_end event, or one still open at the end of the log.
type outage struct {
	eventlog.Outage
	target string
	open   bool
}

// bar is an outage as drawn; past maxBars, one bar stands for n outages, coloured as the longest of them.
type bar struct {
	span
	n        int
	longest  time.Duration
	cause    catalog.Code
	category string
	verdict  string
}

// marker is an event drawn as a tick on the timeline.
type marker struct {
	at    time.Time
	kind  string // restart, role, addresses, cert
	label string
}

// sample is one latency summary of the held session.
type sample struct {
	at       time.Time
	p50, p90 float64
}

// targetData is what is kept for one target.
type targetData struct {
	name     string
	observed []span
	bars     []bar
	markers  []marker
	// Counted over the whole log, whatever was kept to draw.
	outages, escalate, restarts int
	down                        time.Duration
	// latency is a reservoir sample of the summaries; gaps are where the summaries stopped for longer than their
	// period (an outage, watch not running), to break the lines there.
	latency []sample
	seen    int
	gaps    []span
	lastLat time.Time
}

// Folder folds events, one at a time and in the order of the log, into what the page draws.
type Folder struct {
	from, to time.Time
	events   int
	targets  []*targetData
	byName   map[string]*targetData
	listed   []*outage // the latest outages, up to twice maxListed between trims
	unlisted int       // earlier outages, not in the table

	runTargets []string
	runStart   time.Time
	last       time.Time
	open       map[string]*outage
	rng        *rand.Rand
}

// NewFolder starts a fold.
func NewFolder() *Folder {
	// A fixed seed: the same log gives the same page.
	return &Folder{byName: map[string]*targetData{}, open: map[string]*outage{}, rng: rand.New(rand.NewPCG(1, 2))}
}

// Events is how many events were folded.
func (f *Folder) Events() int { return f.events }

// Targets is how many targets the events named.
func (f *Folder) Targets() int { return len(f.targets) }

func (f *Folder) get(name string) *targetData {
	td := f.byName[name]
	if td == nil {
		td = &targetData{name: name}
		f.byName[name] = td
		f.targets = append(f.targets, td)
	}
	return td
}

// Add folds one event. The time between a watch_stop (or the last event of a run that crashed) and the next
// watch_start was not observed.
func (f *Folder) Add(ev eventlog.Event) {
	f.events++
	if f.from.IsZero() || ev.Time.Before(f.from) {
		f.from = ev.Time
	}
	if ev.Time.After(f.to) {
		f.to = ev.Time
	}
	switch ev.Type {
	case eventlog.EventWatchStart:
		if f.runTargets != nil {
			f.endRun(f.last) // the run before ended without a watch_stop
		}
		f.runStart, f.runTargets = ev.Time, ev.Targets
		for _, n := range ev.Targets {
			f.get(n)
		}
	case eventlog.EventWatchStop:
		f.endRun(ev.Time)
	case eventlog.EventOutageStart:
		if f.open[ev.Target] == nil {
			f.get(ev.Target)
			f.open[ev.Target] = &outage{target: ev.Target, open: true, Outage: eventlog.Outage{Start: ev.Time, Cause: ev.Code,
				Category: string(catalog.Lookup(ev.Code).Category), Codes: []eventlog.CodeCount{{Code: ev.Code, Count: 1}}}}
		}
	case eventlog.EventOutageCause:
		if o := f.open[ev.Target]; o != nil && len(o.Codes) < len(catalog.All()) {
			o.Codes = append(o.Codes, eventlog.CodeCount{Code: ev.Code, Count: 1})
		}
	case eventlog.EventOutageEscalate:
		if o := f.open[ev.Target]; o != nil {
			o.Verdict, o.Reasons = eventlog.VerdictEscalate, []string{ev.Note}
		}
	case eventlog.EventOutageEnd:
		delete(f.open, ev.Target)
		if ev.Outage != nil {
			f.addOutage(&outage{Outage: *ev.Outage, target: ev.Target})
		}
	case eventlog.EventRestart:
		f.get(ev.Target).restarts++
		f.mark(ev.Target, marker{ev.Time, "restart", "server restarted"})
	case eventlog.EventRole:
		f.mark(ev.Target, marker{ev.Time, "role", "became a " + ev.New + " (was a " + ev.Old + ")"})
	case eventlog.EventAddresses:
		f.mark(ev.Target, marker{ev.Time, "addresses", "addresses now " + ev.New + " (were " + ev.Old + ")"})
	case eventlog.EventCert, eventlog.EventCertExpiring:
		label := "certificate changed"
		if ev.Type == eventlog.EventCertExpiring {
			label = ev.Note
		}
		f.mark(ev.Target, marker{ev.Time, "cert", label})
	case eventlog.EventLatency:
		if ev.Latency != nil && ev.Probe == eventlog.ProbeSession {
			f.get(ev.Target).addLatency(ev.Time, ev.Latency, f.thinGap(), f.rng)
		}
	}
	f.last = ev.Time
}

// thinGap is the gap below which neighbouring bars are joined when there are too many: a quarter of a pixel of the
// time seen so far, which the whole log only makes narrower.
func (f *Folder) thinGap() time.Duration {
	return f.to.Sub(f.from) / (4 * (plotX1 - labelW))
}

func (f *Folder) endRun(at time.Time) {
	for _, n := range f.runTargets {
		td := f.get(n)
		td.observed = thin(append(td.observed, span{f.runStart, at}), f.thinGap(), func(s span) span { return s },
			func(a, b span) span { return span{a.from, b.to} })
	}
	f.runTargets = nil
}

func (f *Folder) mark(target string, mk marker) {
	td := f.get(target)
	if td.markers = append(td.markers, mk); len(td.markers) >= 2*maxMarkers {
		td.markers = slices.Delete(td.markers, 0, len(td.markers)-maxMarkers)
	}
}

// addOutage counts an outage, draws it and lists it.
func (f *Folder) addOutage(o *outage) {
	td := f.get(o.target)
	td.outages++
	td.down += o.End.Sub(o.Start)
	if o.Verdict == eventlog.VerdictEscalate {
		td.escalate++
	}
	d := o.End.Sub(o.Start)
	td.bars = thin(append(td.bars, bar{span: span{o.Start, o.End}, n: 1, longest: d, cause: o.Cause, category: o.Category, verdict: o.Verdict}),
		f.thinGap(), func(b bar) span { return b.span }, joinBars)
	if f.listed = append(f.listed, o); len(f.listed) >= 2*maxListed {
		sortOutages(f.listed)
		n := len(f.listed) - maxListed
		f.unlisted += n
		f.listed = slices.Delete(f.listed, 0, n)
	}
}

func joinBars(a, b bar) bar {
	j := a
	if b.longest > a.longest {
		j = b
	}
	j.span, j.n = span{a.from, a.to}, a.n+b.n
	if b.to.After(a.to) {
		j.to = b.to
	}
	if a.verdict == eventlog.VerdictEscalate || b.verdict == eventlog.VerdictEscalate {
		j.verdict = eventlog.VerdictEscalate
	}
	return j
}

func sortOutages(l []*outage) {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Start.Before(l[j].Start) })
}

// addLatency samples a latency summary (algorithm R) and notes a gap before it.
func (td *targetData) addLatency(at time.Time, l *eventlog.Latency, gap time.Duration, rng *rand.Rand) {
	period := time.Duration(l.Seconds * float64(time.Second))
	if !td.lastLat.IsZero() && at.Sub(td.lastLat) > period*3/2 {
		td.gaps = thin(append(td.gaps, span{td.lastLat, at}), gap, func(s span) span { return s },
			func(a, b span) span { return span{a.from, b.to} })
	}
	td.lastLat = at
	s := sample{at: at, p50: l.P50MS, p90: l.P90MS}
	td.seen++
	if len(td.latency) < maxSamples {
		td.latency = append(td.latency, s)
	} else if i := rng.IntN(td.seen); i < maxSamples {
		td.latency[i] = s
	}
}

// thin joins neighbours of a list in time order once it holds twice keep: those less than gap apart, the gap
// doubling until no more than maxBars remain.
func thin[T any](l []T, gap time.Duration, spanOf func(T) span, join func(a, b T) T) []T {
	if len(l) < 2*maxBars {
		return l
	}
	gap = max(gap, time.Nanosecond)
	for len(l) > maxBars {
		out := l[:1]
		for _, x := range l[1:] {
			last := &out[len(out)-1]
			if spanOf(x).from.Sub(spanOf(*last).to) < gap {
				*last = join(*last, x)
			} else {
				out = append(out, x)
			}
		}
		l = out
		gap *= 2
	}
	return l
}

// finish ends the fold: the last run, outages still open at the end of the log.
func (f *Folder) finish() {
	if f.runTargets != nil {
		f.endRun(f.last)
	}
	open := make([]*outage, 0, len(f.open))
	for _, o := range f.open {
		open = append(open, o)
	}
	sortOutages(open)
	for _, o := range open {
		o.End = f.to
		o.DurationSeconds = o.End.Sub(o.Start).Seconds()
		if o.Verdict == "" {
			o.Verdict = "open"
		}
		f.addOutage(o)
	}
	f.open = map[string]*outage{}
	sortOutages(f.listed)
	if n := len(f.listed) - maxListed; n > 0 {
		f.unlisted += n
		f.listed = slices.Delete(f.listed, 0, n)
	}
	for _, td := range f.targets {
		slices.SortFunc(td.latency, func(a, b sample) int { return a.at.Compare(b.at) })
	}
}

// availability is the share of the observed time a target was up, and the observed time.
func (td *targetData) availability() (float64, time.Duration) {
	var seen time.Duration
	for _, s := range td.observed {
		seen += s.duration()
	}
	if seen <= 0 {
		return 0, 0
	}
	return max(0, 1-td.down.Seconds()/seen.Seconds()), seen
}
